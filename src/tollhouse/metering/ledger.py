"""The delivery ledger's writes: the exact post and user ids each organisation's apps received
per UTC day, added in the usage store's transaction (so exactly once, like the rollups).

Adding ids to a set is idempotent, so even a batch stored twice would leave the ledger as it
was; the store adds only the events it newly inserted anyway. Ids are 64-bit (snowflakes), kept
in pyroaring's `BitMap64` and stored in its portable serialization.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from enum import IntEnum

import sqlalchemy as sa
from pyroaring import BitMap64
from sqlalchemy.engine import Connection

from tollhouse.metering.event import UsageEvent
from tollhouse.metering.models import UNKNOWN_ID, delivery_ledger

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY_US = 86_400_000_000
# A chunk grows until its serialized bitmap passes this; then a new chunk starts. It bounds what
# one batch reads and rewrites (a day of a heavy app is ~10 MB of ids).
CHUNK_BYTES = 256 * 1024


class LedgerKind(IntEnum):
    POSTS = 1
    USERS = 2
    REFUSED_POSTS = 3  # asked for by id, not served (see UsageEvent.refused_ids)


LedgerKey = tuple[int, date, int, LedgerKind]  # org_id, day, app_id, kind


def ids_by_key(events: Iterable[UsageEvent]) -> dict[LedgerKey, list[int]]:
    """The delivered ids of `events` grouped by (org, UTC day, app, kind); events of no known
    organisation are left out (nothing was delivered to anyone)."""
    grouped: dict[tuple[int, int, int, LedgerKind], list[int]] = defaultdict(list)
    for e in events:
        if e.org_id is None or not (e.post_ids or e.user_ids or e.refused_ids):
            continue
        day_number = e.occurred_us // _DAY_US
        app_id = e.app_id if e.app_id is not None else UNKNOWN_ID
        if e.post_ids:
            grouped[(e.org_id, day_number, app_id, LedgerKind.POSTS)].extend(e.post_ids)
        if e.user_ids:
            grouped[(e.org_id, day_number, app_id, LedgerKind.USERS)].extend(e.user_ids)
        if e.refused_ids:
            grouped[(e.org_id, day_number, app_id, LedgerKind.REFUSED_POSTS)].extend(e.refused_ids)
    return {
        (org, (_EPOCH + timedelta(days=n)).date(), app, kind): ids
        for (org, n, app, kind), ids in grouped.items()
    }


def record(conn: Connection, events: Sequence[UsageEvent]) -> None:
    """Add the ids `events` delivered to the ledger, inside the caller's transaction."""
    for (org_id, day, app_id, kind), ids in ids_by_key(events).items():
        add(conn, org_id, day, app_id, kind, ids)


def add(
    conn: Connection, org_id: int, day: date, app_id: int, kind: LedgerKind, ids: Iterable[int]
) -> None:
    """Add `ids` to one (org, day, app, kind) set."""
    t = delivery_ledger.c
    key = (t.org_id == org_id) & (t.day == day) & (t.app_id == app_id) & (t.kind == int(kind))
    if conn.dialect.name == "postgresql":
        # Chunk 0 is the key's lock: every writer of the key takes it first, so two writers
        # never both extend the newest chunk or both start the next one.
        conn.execute(
            sa.text(
                "INSERT INTO delivery_ledger (org_id, day, app_id, kind, chunk, ids)"
                " VALUES (:o, :d, :a, :k, 0, :s) ON CONFLICT DO NOTHING"
            ),
            {"o": org_id, "d": day, "a": app_id, "k": int(kind), "s": BitMap64().serialize()},
        )
        conn.execute(sa.select(t.chunk).where(key, t.chunk == 0).with_for_update()).all()
    newest = conn.execute(
        sa.select(t.chunk, t.ids).where(key).order_by(t.chunk.desc()).limit(1)
    ).first()
    batch = BitMap64(ids)
    if newest is None:
        conn.execute(
            delivery_ledger.insert().values(
                org_id=org_id,
                day=day,
                app_id=app_id,
                kind=int(kind),
                chunk=0,
                ids=batch.serialize(),
            )
        )
        return
    chunk, blob = newest
    if len(blob) < CHUNK_BYTES:
        merged = BitMap64.deserialize(blob)
        before = len(merged)
        merged |= batch
        if len(merged) != before:
            conn.execute(
                delivery_ledger.update().where(key, t.chunk == chunk).values(ids=merged.serialize())
            )
        return
    conn.execute(
        delivery_ledger.insert().values(
            org_id=org_id,
            day=day,
            app_id=app_id,
            kind=int(kind),
            chunk=chunk + 1,
            ids=batch.serialize(),
        )
    )
