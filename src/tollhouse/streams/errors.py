"""Refusals the streams domain raises; the API edge maps them to X problems."""

from __future__ import annotations

from tollhouse.errors import Conflict, InvalidInput, ServiceUnavailable, TollhouseError


class RulesCapExceeded(Conflict):
    """Adding the rules would take the app past its plan's rule count."""

    def __init__(self, limit: int, existing: int, adding: int) -> None:
        super().__init__(
            f"Rule creation would exceed the rule cap of {limit} "
            f"({existing} existing, {adding} new)"
        )
        self.limit = limit


class InvalidRuleRequest(InvalidInput):
    """The rules request is malformed (neither add nor delete, empty lists, bad ids)."""


class IngestRejected(InvalidInput):
    """Posts offered for live ingest that cannot be true: an impossible or inconsistent
    `created_at`, or an author that is not a known user. Nothing of the request is stored."""

    def __init__(self, problems: list[str]) -> None:
        shown = "; ".join(problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(shown + more)
        self.problems = problems


class StreamBusy(TollhouseError):
    """The app already has its one stream connection open."""


class BusUnavailable(ServiceUnavailable):
    """The stream bus (Redis) cannot be reached; nothing was published or claimed."""
