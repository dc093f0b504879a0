"""The usage log: each organisation's usage events numbered 0, 1, 2, … as leaves.

The usage store calls `append_events` in the transaction that stores a batch, with only the
events that batch made new, so an event gets exactly one index, at once durable with the event
itself, and a replayed spool adds nothing (UNIQUE (org_id, request_id) makes that a constraint
too). Nothing here runs on the request path. Leaves are encoded with the shared codec
(`tollhouse_verify.leaf`): what a licensee's verifier parses is byte for byte what was stored.
Refused requests without a known organisation (401) belong to no log.

Other leaves of the same log (day closes, adjustments) come through `append_leaf`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tollhouse.metering.event import UsageEvent
from tollhouse.metering.models import usage_log, usage_log_heads
from tollhouse_verify.leaf import encode_usage, ids_digest


def is_billable(status: int) -> bool:
    """Counting rule tollhouse.count/v1: a request is billable when it succeeded (2xx)."""
    return 200 <= status < 300


def usage_leaf(event: UsageEvent) -> bytes:
    """The leaf of a usage event of a known organisation."""
    assert event.org_id is not None
    return encode_usage(
        event.org_id,
        event.request_id,
        event.occurred_us // 1000,
        event.app_id,
        event.key_id,
        event.method,
        event.endpoint,
        event.status,
        is_billable(event.status),
        event.posts,
        min(event.new_posts, event.posts),
        event.bytes,
        ids_digest(event.post_ids) if event.post_ids else None,
        event.end_user,
    )


def append_events(cursor: Any, dialect: str, events: Sequence[UsageEvent]) -> int:
    """Give each of `events` (new in this transaction) the next index of its organisation's
    log; `cursor` is the store's DB-API cursor inside that transaction. Returns the leaves
    added."""
    by_org: dict[int, list[UsageEvent]] = {}
    for e in events:
        if e.org_id is not None:
            by_org.setdefault(e.org_id, []).append(e)
    if not by_org:
        return 0
    orgs = sorted(by_org)
    if dialect == "sqlite":
        marks = ", ".join("?" * len(orgs))
        cursor.execute(f"SELECT org_id, size FROM usage_log_heads WHERE org_id IN ({marks})", orgs)
        heads = dict(cursor.fetchall())
    else:
        # Row locks in org order, so concurrent stores (one per host) never deadlock and never
        # hand out the same index twice.
        cursor.execute(
            "INSERT INTO usage_log_heads (org_id, size) SELECT unnest(%s::bigint[]), 0"
            " ON CONFLICT DO NOTHING",
            (orgs,),
        )
        cursor.execute(
            "SELECT org_id, size FROM usage_log_heads WHERE org_id = ANY(%s)"
            " ORDER BY org_id FOR UPDATE",
            (orgs,),
        )
        heads = dict(cursor.fetchall())
    rows: list[tuple[int, int, str, bytes]] = []
    sizes: list[tuple[int, int]] = []
    for org in orgs:
        start = heads.get(org, 0)
        org_events = by_org[org]
        rows.extend((org, start + i, e.request_id, usage_leaf(e)) for i, e in enumerate(org_events))
        sizes.append((org, start + len(org_events)))
    if dialect == "sqlite":
        cursor.executemany(
            "INSERT INTO usage_log (org_id, idx, request_id, leaf) VALUES (?, ?, ?, ?)", rows
        )
        cursor.executemany(
            "INSERT INTO usage_log_heads (org_id, size) VALUES (?, ?)"
            " ON CONFLICT (org_id) DO UPDATE SET size = excluded.size",
            sizes,
        )
    else:
        with cursor.copy("COPY usage_log (org_id, idx, request_id, leaf) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.executemany(
            "UPDATE usage_log_heads SET size = %s WHERE org_id = %s", [(s, o) for o, s in sizes]
        )
    return len(rows)


def append_leaf(conn: Connection, org_id: int, key: str, leaf: bytes) -> int | None:
    """Append `leaf` to `org_id`'s log under `key` (unique in that log) and return its index,
    or None if a leaf with that key is already there."""
    h = usage_log_heads.c
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text(
                "INSERT INTO usage_log_heads (org_id, size) VALUES (:o, 0) ON CONFLICT DO NOTHING"
            ),
            {"o": org_id},
        )
        size = conn.execute(
            sa.select(h.size).where(h.org_id == org_id).with_for_update()
        ).scalar_one()
    else:
        size = conn.execute(sa.select(h.size).where(h.org_id == org_id)).scalar_one_or_none()
    exists = conn.execute(
        sa.select(usage_log.c.idx).where(
            (usage_log.c.org_id == org_id) & (usage_log.c.request_id == key)
        )
    ).first()
    if exists is not None:
        return None
    index = int(size or 0)
    conn.execute(usage_log.insert().values(org_id=org_id, idx=index, request_id=key, leaf=leaf))
    if size is None:
        conn.execute(usage_log_heads.insert().values(org_id=org_id, size=index + 1))
    else:
        conn.execute(usage_log_heads.update().where(h.org_id == org_id).values(size=index + 1))
    return index


def log_size(conn: Connection, org_id: int) -> int:
    """How many leaves `org_id`'s log holds."""
    h = usage_log_heads.c
    size = conn.execute(sa.select(h.size).where(h.org_id == org_id)).scalar_one_or_none()
    return int(size or 0)
