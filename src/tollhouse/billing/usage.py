"""What billing reads of metering: a licensee's usage over an exact interval of instants.

`UsageSource` is the small Protocol billing rates from; `RollupUsage` answers it from metering's
daily and hourly rollups and its raw events only for the partial hours at either end (a plan
change at 10:17:03 splits its hour exactly: no request in both segments or in neither; raw
events are kept `raw_event_retention_days`, so such a split is exact while they are).
A reading carries a digest of every row it read: a rating run records it, so a rerun on the
same usage can be shown to have read the same thing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tollhouse.metering.models import usage_events, usage_rollups, usage_rollups_daily

# Endpoints whose successful responses are user reads (X's pay-per-use "user read").
USER_READ_ENDPOINTS = frozenset(
    {"/2/users/:id", "/2/users", "/2/users/by/username/:username", "/2/users/by"}
)
STREAM_ENDPOINTS = frozenset({"/2/tweets/search/stream", "/2/tweets/sample/stream"})


@dataclass(frozen=True, slots=True)
class UsageReading:
    """Billable usage over `[start, end)`: `posts` are the posts of successful responses after
    the edge's daily dedupe (metering's `new_posts`); `requests` counts successful requests per
    endpoint template."""

    start: datetime
    end: datetime
    posts: int = 0
    requests: dict[str, int] = field(default_factory=dict)
    digest: str = ""

    @property
    def user_reads(self) -> int:
        return sum(n for e, n in self.requests.items() if e in USER_READ_ENDPOINTS)

    @property
    def stream_requests(self) -> int:
        return sum(n for e, n in self.requests.items() if e in STREAM_ENDPOINTS)

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "posts": self.posts,
            "user_reads": self.user_reads,
            "requests": dict(sorted(self.requests.items())),
            "digest": self.digest,
        }


class UsageSource(Protocol):
    def read(self, org_id: int, start: datetime, end: datetime) -> UsageReading:
        """Billable usage of `org_id` over the instants `[start, end)`."""
        ...

    def read_many(
        self, org_ids: Sequence[int], start: datetime, end: datetime
    ) -> dict[int, UsageReading]:
        """`read` for each of `org_ids` over the same interval."""
        ...


def _ceil_hour(t: datetime) -> datetime:
    floor = t.replace(minute=0, second=0, microsecond=0)
    return floor if floor == t else floor + timedelta(hours=1)


def _floor_hour(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


def _ceil_day(t: datetime) -> datetime:
    floor = t.replace(hour=0, minute=0, second=0, microsecond=0)
    return floor if floor == t else floor + timedelta(days=1)


def _floor_day(t: datetime) -> datetime:
    return t.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass
class RollupUsage:
    """`UsageSource` over metering's tables on `engine` (the usage database): whole UTC days
    from the daily rollups, whole hours at either end from the hourly ones, and the raw events
    only for a partial hour (a month is ~30 daily groups, not ~720 hourly ones). `read_many`
    answers many organisations' same interval with the same few queries."""

    engine: Engine
    chunk: int = 500  # organisations per IN (...) list

    def read(self, org_id: int, start: datetime, end: datetime) -> UsageReading:
        return self.read_many([org_id], start, end)[org_id]

    def read_many(
        self, org_ids: Sequence[int], start: datetime, end: datetime
    ) -> dict[int, UsageReading]:
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        rows: dict[int, list[tuple[str, str, int, int]]] = {o: [] for o in org_ids}
        with self.engine.connect() as conn:
            for i in range(0, len(org_ids), self.chunk):
                chunk = list(org_ids[i : i + self.chunk])
                for org_id, row in self._rows(conn, chunk, start, end):
                    rows[org_id].append(row)
        return {o: reading(start, end, r) for o, r in rows.items()}

    def _rows(
        self, conn: Connection, orgs: list[int], start: datetime, end: datetime
    ) -> list[tuple[int, tuple[str, str, int, int]]]:
        out: list[tuple[int, tuple[str, str, int, int]]] = []
        first_day, last_day = _ceil_day(start), _floor_day(end)
        if first_day < last_day:
            d = usage_rollups_daily.c
            out += _sum(conn, "d", d, d.day >= first_day.date(), d.day < last_day.date(), orgs)
            spans = [(start, first_day), (last_day, end)]
        else:
            spans = [(start, end)]
        for a, b in spans:
            if a >= b:
                continue
            first, last = _ceil_hour(a), _floor_hour(b)
            if first < last:
                h = usage_rollups.c
                out += _sum(conn, "h", h, h.hour >= first, h.hour < last, orgs)
                edges = [(a, first), (last, b)]
            else:
                edges = [(a, b)]
            for x, y in edges:
                if x < y:
                    out += _events(conn, orgs, x, y)
        return out


def _sum(
    conn: Connection, source: str, c: Any, lo: Any, hi: Any, orgs: list[int]
) -> list[tuple[int, tuple[str, str, int, int]]]:
    stmt = (
        sa.select(c.org_id, c.endpoint, sa.func.sum(c.requests), sa.func.sum(c.new_posts))
        .where(c.org_id.in_(orgs), lo, hi, c.status_class == 2)
        .group_by(c.org_id, c.endpoint)
    )
    return [(o, (source, e, int(n or 0), int(p or 0))) for o, e, n, p in conn.execute(stmt)]


def _events(
    conn: Connection, orgs: list[int], a: datetime, b: datetime
) -> list[tuple[int, tuple[str, str, int, int]]]:
    u = usage_events.c
    stmt = (
        sa.select(u.org_id, u.endpoint, sa.func.count(), sa.func.sum(u.new_posts))
        .where(
            u.org_id.in_(orgs), u.occurred_at >= a, u.occurred_at < b,
            u.status >= 200, u.status < 300,
        )
        .group_by(u.org_id, u.endpoint)
    )  # fmt: skip
    return [(o, ("e", e, int(n or 0), int(p or 0))) for o, e, n, p in conn.execute(stmt)]


def reading(
    start: datetime, end: datetime, rows: Iterable[tuple[str, str, int, int]]
) -> UsageReading:
    """Sum `(source, endpoint, requests, posts)` rows into a reading with their digest."""
    requests: dict[str, int] = {}
    posts = 0
    h = hashlib.sha256(f"{start.isoformat()}|{end.isoformat()}".encode())
    for source, endpoint, n, p in sorted(rows):
        requests[endpoint] = requests.get(endpoint, 0) + n
        posts += p
        h.update(f"|{source}:{endpoint}:{n}:{p}".encode())
    return UsageReading(start, end, posts, requests, h.hexdigest()[:32])
