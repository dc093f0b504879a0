"""Notices: when an organisation was told of a content event, by which channel. The first
notice counts; telling again (a stream backfill, a second download) changes nothing."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tollhouse.compliance.models import compliance_notices

CHANNELS = ("stream", "job", "operator")
_BATCH = 5_000


def record_notices(
    engine: Engine,
    org_id: int,
    keys: Iterable[str],
    channel: str,
    at: datetime,
    reference: str | None = None,
) -> int:
    """Record that `org_id` was told of the events `keys` at `at`; how many were new."""
    with engine.begin() as conn:
        return record_notices_in(conn, org_id, keys, channel, at, reference)


def record_notices_in(
    conn: Connection,
    org_id: int,
    keys: Iterable[str],
    channel: str,
    at: datetime,
    reference: str | None = None,
) -> int:
    wanted = sorted(set(keys))
    t = compliance_notices.c
    new = 0
    for i in range(0, len(wanted), _BATCH):
        chunk = wanted[i : i + _BATCH]
        known = set(
            conn.execute(
                sa.select(t.event_key).where(t.org_id == org_id, t.event_key.in_(chunk))
            ).scalars()
        )
        rows = [
            {
                "org_id": org_id,
                "event_key": key,
                "channel": channel,
                "noticed_at": at,
                "reference": reference,
            }
            for key in chunk
            if key not in known
        ]
        if rows:
            conn.execute(compliance_notices.insert(), rows)
            new += len(rows)
    return new


def notices_of(conn: Connection, org_id: int) -> dict[str, tuple[str, datetime]]:
    """{event_key: (channel, noticed_at)} of every notice `org_id` got."""
    t = compliance_notices.c
    out = {}
    for key, channel, at in conn.execute(
        sa.select(t.event_key, t.channel, t.noticed_at).where(t.org_id == org_id)
    ):
        out[key] = (channel, at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC))
    return out
