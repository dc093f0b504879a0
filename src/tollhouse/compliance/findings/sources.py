"""What the rules read, as Protocols over facts (frozen dataclasses).

Each Protocol has a SQL adapter over access's and metering's tables (`sql_sources.py`);
`DeliveredPosts` is the delivery ledger's shape (per organisation, app and UTC day sets of post
ids), so metering's ledger replaces the raw-event adapter with one adapter; `Obligations` is the
holdings side's deletion obligations. Benchmarks feed synthetic aggregates through the same
Protocols.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, Protocol

from pyroaring import BitMap64

from tollhouse.compliance.findings.terms import AgreementTimeline

# How a post reached an organisation: looked up by its id, or found (search, timeline, stream).
DeliveryKind = Literal["lookup", "found"]


@dataclass(frozen=True, slots=True)
class AppFacts:
    id: int
    name: str
    use_cases: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class EndUserFacts:
    id: int
    name: str
    sector: str
    approved_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class OrgFacts:
    id: int
    name: str
    plan: Mapping[str, Any]  # Plan.to_dict()
    apps: tuple[AppFacts, ...]
    end_users: tuple[EndUserFacts, ...]
    keys: Mapping[str, int]  # key id → app id
    agreement: AgreementTimeline

    def app(self, app_id: int | None) -> AppFacts | None:
        return next((a for a in self.apps if a.id == app_id), None)


class Licensees(Protocol):
    def orgs(self, names: Sequence[str] | None) -> list[OrgFacts]:
        """Facts of the organisations named (all when None); an unknown name is NotFound."""

    def canaries(self) -> dict[int, int]:
        """{canary post id: the one organisation it was planted for}."""


@dataclass(frozen=True, slots=True)
class DailyUse:
    """One UTC day of one app on one endpoint (2xx and refusals summed)."""

    day: date
    app_id: int
    endpoint: str
    requests: int
    posts: int
    errors: int


@dataclass(frozen=True, slots=True)
class HourlyUse:
    hour: datetime
    app_id: int
    endpoint: str
    requests: int


@dataclass(frozen=True, slots=True)
class KeyNetworkDay:
    """Requests of one key on one UTC day from one client network with one user agent."""

    day: date
    org_id: int
    app_id: int
    key_id: str
    network: str
    user_agent: str
    requests: int
    sample_request_id: str


@dataclass(frozen=True, slots=True)
class QueryUse:
    """One search request's query string, or one stream interval's rules."""

    request_id: str
    at: datetime
    app_id: int
    key_id: str
    endpoint: str
    query_string: str | None
    stream_rules: tuple[str, ...] = ()
    network: str | None = None


@dataclass(frozen=True, slots=True)
class EndUserUse:
    """Use attributed to one `X-End-User` name of an organisation."""

    name: str
    end_user_id: int | None
    app_id: int
    first_at: datetime
    last_at: datetime
    requests: int
    sample_request_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NetworkUse:
    """Requests of an organisation's apps from one client network over the period."""

    org_id: int
    app_id: int
    network: str
    requests: int
    first_at: datetime
    sample_request_id: str


class UsageSource(Protocol):
    def daily(self, org_id: int, start: date, end: date) -> list[DailyUse]: ...

    def hourly(self, org_id: int, start: datetime, end: datetime) -> list[HourlyUse]: ...

    def key_networks(self, org_id: int | None, start: date, end: date) -> list[KeyNetworkDay]:
        """Per key, day, network and agent (every organisation's when `org_id` is None)."""

    def queries(self, org_id: int, start: datetime, end: datetime) -> list[QueryUse]: ...

    def end_users(self, org_id: int, start: datetime, end: datetime) -> list[EndUserUse]: ...

    def networks(
        self, org_id: int, start: datetime, end: datetime, within: Sequence[str]
    ) -> list[NetworkUse]:
        """Use from client networks inside the CIDRs `within`."""


@dataclass(frozen=True)
class Delivery:
    org_id: int
    app_id: int
    day: date
    kind: DeliveryKind
    posts: BitMap64 = field(compare=False)


class DeliveredPosts(Protocol):
    """The delivery ledger: exact sets of post ids per organisation, app and UTC day."""

    def deliveries(self, org_id: int | None, start: date, end: date) -> Iterable[Delivery]:
        """Every organisation's when `org_id` is None."""

    def requests_delivering(
        self, org_id: int, post_id: int, start: datetime, end: datetime, limit: int = 5
    ) -> list[tuple[str, datetime]]:
        """(request id, time) of the organisation's requests that delivered `post_id`."""


@dataclass(frozen=True, slots=True)
class DeletionObligation:
    """A post delivered to an organisation, then deleted on the platform: it must go from the
    licensee's store within the deadline after it was told (notice)."""

    org_id: int
    post_id: int
    event_at: datetime  # deleted (or made unavailable) on the platform
    notice_at: datetime | None  # the licensee consumed a compliance signal for it (stream, job)
    deadline_hours: int


class Obligations(Protocol):
    def obligations(self, org_id: int, start: datetime, end: datetime) -> list[DeletionObligation]:
        """Obligations of the organisation whose platform event falls in [start, end)."""


class NoObligations:
    """Until the holdings side records obligations: the deletion rules find nothing."""

    def obligations(self, org_id: int, start: datetime, end: datetime) -> list[DeletionObligation]:
        return []
