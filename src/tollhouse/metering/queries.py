"""Usage over a period for one organisation: from the rollups and sketches, never raw events.

A year of the heaviest licensee is ~770 k hourly rollup rows, ~32 k daily ones and ~2,900
sketches. Periods are whole UTC days, so every query but `by="hour"` is one range scan on the
daily rollups' primary key (org_id, day, …), plus one sketch union per group.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, TextIO

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tollhouse.metering import ledger_queries
from tollhouse.metering.ledger_queries import DistinctDelivered
from tollhouse.metering.models import usage_rollups, usage_rollups_daily, usage_sketches
from tollhouse.metering.sketches import DistinctEstimate, estimate_union

GroupBy = Literal["app", "endpoint", "day", "hour"]
GROUP_BYS: tuple[str, ...] = ("app", "endpoint", "day", "hour")


@dataclass(frozen=True, slots=True)
class UsageTotals:
    """Counts for one group (or the whole period). `distinct_posts` is None where no sketch
    matches the grouping (sketches are per app and day, not per endpoint or hour)."""

    key: str
    requests: int = 0
    posts: int = 0
    new_posts: int = 0
    bytes: int = 0
    errors: int = 0
    distinct_posts: DistinctEstimate | None = None

    def as_dict(self) -> dict[str, Any]:
        d = self.distinct_posts
        return {
            "key": self.key,
            "requests": self.requests,
            "posts": self.posts,
            "new_posts": self.new_posts,
            "bytes": self.bytes,
            "errors": self.errors,
            "distinct_posts": d.estimate if d else None,
            "distinct_posts_lower": d.lower if d else None,
            "distinct_posts_upper": d.upper if d else None,
        }


CSV_COLUMNS = (
    "key",
    "requests",
    "posts",
    "new_posts",
    "distinct_posts",
    "distinct_posts_lower",
    "distinct_posts_upper",
    "bytes",
    "errors",
)


@dataclass(frozen=True, slots=True)
class UsageReport:
    """One organisation's usage over [start, end)."""

    org_id: int
    start: date
    end: date
    by: str | None
    app_ids: tuple[int, ...] | None
    rows: list[UsageTotals]
    total: UsageTotals
    corpus_posts: int
    app_names: dict[int, str] = field(default_factory=dict)
    # Exact distinct posts and users of the whole period, from the delivery ledger.
    exact: DistinctDelivered | None = None

    @property
    def corpus_share(self) -> tuple[float, float, float] | None:
        """Share of the whole corpus taken: (estimate, lower, upper) as fractions."""
        d = self.total.distinct_posts
        if not self.corpus_posts or d is None:
            return None
        n = self.corpus_posts
        return (min(d.estimate / n, 1.0), min(d.lower / n, 1.0), min(d.upper / n, 1.0))

    def write_csv(self, out: TextIO) -> None:
        """One CSV line per row, then the total (the CLI's `--csv`, the admin API's csv)."""
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in [*self.rows, self.total]:
            writer.writerow(row.as_dict())

    def as_dict(self) -> dict[str, Any]:
        share = self.corpus_share
        return {
            "org_id": self.org_id,
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "by": self.by,
            "app_ids": list(self.app_ids) if self.app_ids is not None else None,
            "rows": [r.as_dict() for r in self.rows],
            "total": self.total.as_dict(),
            "corpus_posts": self.corpus_posts,
            "corpus_share": (
                None
                if share is None
                else {"estimate": share[0], "lower": share[1], "upper": share[2]}
            ),
            "distinct_posts_confidence": "2 standard deviations (about 95 %)",
            "distinct_posts_exact": self.exact.posts if self.exact else None,
            "distinct_users": self.exact.users if self.exact else None,
            "corpus_share_exact": (
                min(self.exact.posts / self.corpus_posts, 1.0)
                if self.exact and self.corpus_posts
                else None
            ),
        }


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _hour_of(value: Any) -> datetime:
    if isinstance(value, str):  # raw text from SQLite when grouped
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    # PostgreSQL answers in the session's time zone; days and hours are UTC.
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _day_of(value: Any) -> date:
    if isinstance(value, str):  # raw text from SQLite when grouped
        value = date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        value = value.date()
    assert isinstance(value, date)
    return value


def usage(
    conn: Connection,
    org_id: int,
    start: date,
    end: date,
    by: GroupBy | None = None,
    app_ids: Sequence[int] | None = None,
    app_names: dict[int, str] | None = None,
    corpus: Connection | None = None,
) -> UsageReport:
    """Usage of organisation `org_id` over the UTC days [start, end), optionally only `app_ids`,
    grouped `by` app, endpoint, day or hour. Only rows of `org_id` are ever read. `corpus`: the
    posts' database, when the usage tables have one of their own."""
    # The period is whole UTC days, so only `by="hour"` needs the hourly rollups.
    group_col: sa.Column[Any] | None
    if by == "hour":
        r = usage_rollups.c
        where = [r.org_id == org_id, r.hour >= _midnight(start), r.hour < _midnight(end)]
        group_col = r.hour
    else:
        r = usage_rollups_daily.c
        where = [r.org_id == org_id, r.day >= start, r.day < end]
        group_col = {"app": r.app_id, "endpoint": r.endpoint, "day": r.day}.get(by or "")
    if app_ids is not None:
        where.append(r.app_id.in_(list(app_ids)))
    sums = (
        sa.func.sum(r.requests),
        sa.func.sum(r.posts),
        sa.func.sum(r.new_posts),
        sa.func.sum(r.bytes),
        sa.func.sum(r.errors),
    )
    counts: dict[Any, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    if group_col is None:
        stmt = sa.select(sa.literal("total"), *sums).where(*where)
    else:
        stmt = sa.select(group_col, *sums).where(*where).group_by(group_col)
    for key, *values in conn.execute(stmt):
        if by == "hour":
            key = _hour_of(key)
        elif by == "day":
            key = _day_of(key)
        acc = counts[key]
        for i, v in enumerate(values):
            acc[i] += int(v or 0)

    blobs_by_group = _sketches(conn, org_id, start, end, app_ids)
    names = app_names or {}
    rows: list[UsageTotals] = []
    if by is not None:
        for key in sorted(counts):
            distinct = None
            if by == "app":
                distinct = estimate_union(b for (_, app), b in blobs_by_group if app == key)
            elif by == "day":
                distinct = estimate_union(b for (day, _), b in blobs_by_group if day == key)
            rows.append(_totals(_label(key, by, names), counts[key], distinct))
    total_counts = [sum(c[i] for c in counts.values()) for i in range(5)]
    total = _totals("total", total_counts, estimate_union(b for _, b in blobs_by_group))
    corpus_posts = corpus_size(corpus if corpus is not None else conn)
    return UsageReport(
        org_id=org_id,
        start=start,
        end=end,
        by=by,
        app_ids=tuple(app_ids) if app_ids is not None else None,
        rows=rows,
        total=total,
        corpus_posts=corpus_posts,
        app_names=names,
        exact=ledger_queries.distinct(conn, org_id, start, end, app_ids),
    )


def corpus_size(conn: Connection) -> int:
    """How many posts the corpus holds. Exact, except on a PostgreSQL corpus of over a million
    posts, where counting would scan the table: there the planner's estimate (kept by ANALYZE,
    typically within a few percent) stands in."""
    if conn.dialect.name == "postgresql":
        estimate = conn.execute(
            sa.text("SELECT reltuples FROM pg_class WHERE oid = to_regclass('posts')")
        ).scalar()
        if estimate is not None and estimate > 1_000_000:
            return int(estimate)
    return int(conn.execute(sa.text("SELECT COUNT(*) FROM posts")).scalar_one())


def _totals(key: str, c: Sequence[int], distinct: DistinctEstimate | None) -> UsageTotals:
    return UsageTotals(key, c[0], c[1], c[2], c[3], c[4], distinct_posts=distinct)


def _label(key: Any, by: str | None, names: dict[int, str]) -> str:
    if by == "app":
        return names.get(key, str(key))
    if isinstance(key, datetime):
        return key.isoformat()
    if isinstance(key, date):
        return key.isoformat()
    return str(key)


def _sketches(
    conn: Connection, org_id: int, start: date, end: date, app_ids: Sequence[int] | None
) -> list[tuple[tuple[date, int], bytes]]:
    s = usage_sketches.c
    stmt = sa.select(s.day, s.app_id, s.sketch).where(
        s.org_id == org_id, s.day >= start, s.day < end
    )
    if app_ids is not None:
        stmt = stmt.where(s.app_id.in_(list(app_ids)))
    return [((day, app_id), blob) for day, app_id, blob in conn.execute(stmt) if blob]


def days_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days)]
