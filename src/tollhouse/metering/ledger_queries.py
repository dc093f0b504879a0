"""Exact questions to the delivery ledger: distinct posts and users an organisation received over
any UTC days and set of its apps, when it first and last received an id, and which
organisations ever received one.

Days are the ledger's grain: "first received" is the UTC day of the first delivery.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from pyroaring import BitMap64
from sqlalchemy.engine import Connection

from tollhouse.corpus.ids import created_at_of
from tollhouse.metering.ledger import LedgerKind
from tollhouse.metering.models import delivery_ledger


@dataclass(frozen=True, slots=True)
class DistinctDelivered:
    """Exact distinct posts and users received over a period."""

    posts: int
    users: int

    def as_dict(self) -> dict[str, int]:
        return {"distinct_posts": self.posts, "distinct_users": self.users}


@dataclass(frozen=True, slots=True)
class Receipt:
    """When one organisation received one id: the first and last UTC day, and by which apps."""

    org_id: int
    first_day: date
    last_day: date
    app_ids: tuple[int, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "org_id": self.org_id,
            "first_day": self.first_day.isoformat(),
            "last_day": self.last_day.isoformat(),
            "app_ids": list(self.app_ids),
        }


def _day(value: Any) -> date:
    if isinstance(value, str):  # raw text from SQLite
        return date.fromisoformat(value[:10])
    assert isinstance(value, date)
    return value


def delivered(
    conn: Connection,
    org_id: int,
    kind: LedgerKind,
    start: date | None = None,
    end: date | None = None,
    app_ids: Sequence[int] | None = None,
) -> BitMap64:
    """The exact set of ids of `kind` organisation `org_id` received on UTC days [start, end)
    (open where None), through `app_ids` (all its apps when None)."""
    t = delivery_ledger.c
    stmt = sa.select(t.ids).where(t.org_id == org_id, t.kind == int(kind))
    if start is not None:
        stmt = stmt.where(t.day >= start)
    if end is not None:
        stmt = stmt.where(t.day < end)
    if app_ids is not None:
        stmt = stmt.where(t.app_id.in_(list(app_ids)))
    union = BitMap64()
    for (blob,) in conn.execute(stmt):
        union |= BitMap64.deserialize(blob)
    return union


def distinct(
    conn: Connection,
    org_id: int,
    start: date | None = None,
    end: date | None = None,
    app_ids: Sequence[int] | None = None,
) -> DistinctDelivered:
    """Exact distinct posts and users `org_id` received over [start, end) through `app_ids`."""
    posts = delivered(conn, org_id, LedgerKind.POSTS, start, end, app_ids)
    users = delivered(conn, org_id, LedgerKind.USERS, start, end, app_ids)
    return DistinctDelivered(len(posts), len(users))


def receipts(
    conn: Connection,
    ids: Iterable[int],
    kind: LedgerKind,
    org_id: int | None = None,
    before: date | None = None,
    app_ids: Sequence[int] | None = None,
) -> dict[int, dict[int, Receipt]]:
    """For every organisation (or only `org_id`) that received any of `ids` (of `kind`) on a
    UTC day before `before` (any day when None): {org_id: {id: Receipt}}.

    A post cannot have been delivered before it was created, so for posts only days from the
    oldest id's creation day are read."""
    wanted = BitMap64(ids)
    if not wanted:
        return {}
    t = delivery_ledger.c
    stmt = sa.select(t.org_id, t.day, t.app_id, t.ids).where(t.kind == int(kind))
    if kind is LedgerKind.POSTS:
        stmt = stmt.where(t.day >= created_at_of(wanted.min()).date())
    if org_id is not None:
        stmt = stmt.where(t.org_id == org_id)
    if before is not None:
        stmt = stmt.where(t.day < before)
    if app_ids is not None:
        stmt = stmt.where(t.app_id.in_(list(app_ids)))
    found: dict[int, dict[int, list[Any]]] = {}
    for org, raw_day, app_id, blob in conn.execute(stmt):
        hits = BitMap64.deserialize(blob) & wanted
        if not hits:
            continue
        day = _day(raw_day)
        per_org = found.setdefault(org, {})
        for id_ in hits:
            seen = per_org.get(id_)
            if seen is None:
                per_org[id_] = [day, day, {app_id}]
            else:
                seen[0] = min(seen[0], day)
                seen[1] = max(seen[1], day)
                seen[2].add(app_id)
    return {
        org: {
            id_: Receipt(org, first, last, tuple(sorted(apps)))
            for id_, (first, last, apps) in per_org.items()
        }
        for org, per_org in found.items()
    }


def recipients(conn: Connection, id_: int, kind: LedgerKind = LedgerKind.POSTS) -> list[Receipt]:
    """Every organisation that ever received `id_`, with its first and last day."""
    return sorted((r[id_] for r in receipts(conn, [id_], kind).values()), key=lambda r: r.org_id)


def first_and_last(
    conn: Connection, org_id: int, id_: int, kind: LedgerKind = LedgerKind.POSTS
) -> Receipt | None:
    """When `org_id` first and last received `id_`, or None if it never did."""
    return receipts(conn, [id_], kind, org_id=org_id).get(org_id, {}).get(id_)
