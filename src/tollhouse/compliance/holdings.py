"""Holdings: what an organisation received (exact distinct posts and users, by the posts'
creation month), how much of it has since been removed, and its obligations by status."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import sqlalchemy as sa
from pyroaring import BitMap64
from sqlalchemy.engine import Connection

from tollhouse.compliance.obligations import STATUSES, Obligation
from tollhouse.corpus.ids import X_EPOCH_MS
from tollhouse.corpus.models import ContentState, posts, users
from tollhouse.metering import ledger_queries
from tollhouse.metering.ledger import LedgerKind

_CHUNK = 5_000


@dataclass(frozen=True, slots=True)
class Holdings:
    org_id: int
    app_ids: tuple[int, ...] | None
    start: date | None
    end: date | None
    distinct_posts: int
    distinct_users: int
    removed_posts: int
    removed_users: int
    by_month: dict[str, dict[str, int]]
    obligations: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "org_id": self.org_id,
            "app_ids": list(self.app_ids) if self.app_ids is not None else None,
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
            "distinct_posts": self.distinct_posts,
            "distinct_users": self.distinct_users,
            "removed_since": {"posts": self.removed_posts, "users": self.removed_users},
            "obligations": self.obligations,
            "by_month": self.by_month,
        }


def _months(ids: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """The creation month (as "YYYY-MM" text) of each snowflake id."""
    ms = (ids.astype(np.uint64) >> np.uint64(22)).astype(np.int64) + X_EPOCH_MS
    return ms.astype("datetime64[ms]").astype("datetime64[M]").astype(str)


def removed_posts(conn: Connection, ids: BitMap64) -> BitMap64:
    """Of `ids`, the posts no longer served: deleted or withheld, or by an author who is
    deleted, suspended, withheld or protected."""
    out = BitMap64()
    wanted = list(ids)
    active = ContentState.ACTIVE.value
    for i in range(0, len(wanted), _CHUNK):
        chunk = wanted[i : i + _CHUNK]
        stmt = (
            sa.select(posts.c.id)
            .select_from(posts.join(users, users.c.id == posts.c.author_id, isouter=True))
            .where(posts.c.id.in_(chunk))
            .where(
                sa.or_(
                    posts.c.state != active,
                    users.c.state != active,
                    users.c.protected.is_(True),
                )
            )
        )
        out.update(conn.execute(stmt).scalars())
    return out


def removed_users(conn: Connection, ids: BitMap64) -> int:
    wanted = list(ids)
    count = 0
    for i in range(0, len(wanted), _CHUNK):
        chunk = wanted[i : i + _CHUNK]
        count += conn.execute(
            sa.select(sa.func.count())
            .select_from(users)
            .where(users.c.id.in_(chunk))
            .where(sa.or_(users.c.state != ContentState.ACTIVE.value, users.c.protected.is_(True)))
        ).scalar_one()
    return count


def holdings(
    conn: Connection,
    usage: Connection,
    org_id: int,
    obligations: Sequence[Obligation],
    start: date | None = None,
    end: date | None = None,
    app_ids: Sequence[int] | None = None,
) -> Holdings:
    """The holdings of `org_id` from what it received on UTC days [start, end) through
    `app_ids` (all its apps when None); only its own ledger rows are read."""
    delivered_posts = ledger_queries.delivered(usage, org_id, LedgerKind.POSTS, start, end, app_ids)
    delivered_users = ledger_queries.delivered(usage, org_id, LedgerKind.USERS, start, end, app_ids)
    gone = removed_posts(conn, delivered_posts)
    by_month: dict[str, dict[str, int]] = {}
    if delivered_posts:
        months = Counter(_months(np.array(delivered_posts, dtype=np.uint64)).tolist())
        removed_months = (
            Counter(_months(np.array(gone, dtype=np.uint64)).tolist()) if gone else Counter()
        )
        by_month = {
            m: {"posts": int(n), "removed": int(removed_months.get(m, 0))}
            for m, n in sorted(months.items())
        }
    counts = dict.fromkeys(STATUSES, 0)
    for o in obligations:
        if _in_period(o, start, end):
            counts[o.status] += 1
    return Holdings(
        org_id=org_id,
        app_ids=tuple(app_ids) if app_ids is not None else None,
        start=start,
        end=end,
        distinct_posts=len(delivered_posts),
        distinct_users=len(delivered_users),
        removed_posts=len(gone),
        removed_users=removed_users(conn, delivered_users),
        by_month=by_month,
        obligations=counts,
    )


def _in_period(o: Obligation, start: date | None, end: date | None) -> bool:
    """An obligation counts in a period when the receipt that caused it is in it."""
    day = o.received_first
    return (start is None or day >= start) and (end is None or day < end)


def utc_midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC)
