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


class StreamBusy(TollhouseError):
    """The app already has its one stream connection open."""


class BusUnavailable(ServiceUnavailable):
    """The stream bus (Redis) cannot be reached; nothing was published or claimed."""
