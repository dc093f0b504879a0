"""What billing reads of metering: a licensee's usage over an exact interval of instants.

`UsageSource` is the small Protocol billing rates from; `RollupUsage` answers it from metering's
hourly rollups for whole hours and its raw events only for the partial hours at either end (a
plan change at 10:17:03 splits its hour exactly: no request in both segments or in neither).
A reading carries a digest of every row it read: a rating run records it, so a rerun on the
same usage can be shown to have read the same thing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tollhouse.metering.models import usage_events, usage_rollups

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


def _ceil_hour(t: datetime) -> datetime:
    floor = t.replace(minute=0, second=0, microsecond=0)
    return floor if floor == t else floor + timedelta(hours=1)


def _floor_hour(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


@dataclass
class RollupUsage:
    """`UsageSource` over metering's tables on `engine` (the usage database)."""

    engine: Engine

    def read(self, org_id: int, start: datetime, end: datetime) -> UsageReading:
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        rows: list[tuple[str, str, int, int]] = []
        with self.engine.connect() as conn:
            first, last = _ceil_hour(start), _floor_hour(end)
            if first < last:
                r = usage_rollups.c
                stmt = (
                    sa.select(r.endpoint, sa.func.sum(r.requests), sa.func.sum(r.new_posts))
                    .where(
                        r.org_id == org_id,
                        r.hour >= first,
                        r.hour < last,
                        r.status_class == 2,
                    )
                    .group_by(r.endpoint)
                )
                rows += [("h", e, int(n or 0), int(p or 0)) for e, n, p in conn.execute(stmt)]
                edges = [(start, first), (last, end)]
            else:
                edges = [(start, end)]
            for a, b in edges:
                if a >= b:
                    continue
                u = usage_events.c
                stmt = (
                    sa.select(u.endpoint, sa.func.count(), sa.func.sum(u.new_posts))
                    .where(
                        u.org_id == org_id,
                        u.occurred_at >= a,
                        u.occurred_at < b,
                        u.status >= 200,
                        u.status < 300,
                    )
                    .group_by(u.endpoint)
                )
                rows += [("e", e, int(n or 0), int(p or 0)) for e, n, p in conn.execute(stmt)]
        return reading(start, end, rows)


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
