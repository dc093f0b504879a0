"""Signing checkpoints: grow a log's tiles to its current size and sign the new tree head.

A round (`checkpoint_round`, run by the server every few seconds and by `tollhouse receipts
checkpoint`) signs each log that has new leaves and whose last checkpoint is at least
`receipts_checkpoint_seconds` old, so a log gets at most one checkpoint a minute however busy
it is, and none while idle. Every checkpoint is kept (a licensee holding an old one can always
ask for the consistency proof to the new). The tiles and the checkpoint are written in one
transaction with the read of the leaves, so the stored tiles always match the latest head.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tollhouse.metering.models import usage_log, usage_log_heads
from tollhouse.receipts import tiles_store
from tollhouse.receipts.models import (
    OPERATOR_LOG,
    receipt_checkpoints,
    receipt_heads,
    receipt_roots,
)
from tollhouse.receipts.signing import LogSigner
from tollhouse_verify.checkpoint import Checkpoint
from tollhouse_verify.tree import leaf_hash

ROUND_CHUNK = 500  # logs signed per transaction in a round


@dataclass(frozen=True)
class SignedHead:
    """A signed checkpoint of one log."""

    org_id: int
    origin: str
    size: int
    root: bytes
    note: str
    signed_at: datetime

    def as_dict(self) -> dict[str, object]:
        import base64

        return {
            "org_id": self.org_id,
            "origin": self.origin,
            "size": self.size,
            "root": base64.b64encode(self.root).decode(),
            "signed_at": self.signed_at.isoformat(),
            "note": self.note,
        }


def read_leaves(conn: Connection, org_id: int, lo: int, hi: int) -> list[bytes]:
    """The leaves [lo, hi) of a log, in index order."""
    if hi <= lo:
        return []
    if org_id == OPERATOR_LOG:
        t = receipt_roots.c
        query = sa.select(t.leaf).where((t.idx >= lo) & (t.idx < hi)).order_by(t.idx)
    else:
        u = usage_log.c
        query = (
            sa.select(u.leaf)
            .where((u.org_id == org_id) & (u.idx >= lo) & (u.idx < hi))
            .order_by(u.idx)
        )
    leaves = [bytes(r[0]) for r in conn.execute(query)]
    if len(leaves) != hi - lo:
        raise RuntimeError(f"log {org_id} has a gap in [{lo}, {hi})")
    return leaves


def log_size(conn: Connection, org_id: int) -> int:
    if org_id == OPERATOR_LOG:
        return int(conn.execute(sa.select(sa.func.count()).select_from(receipt_roots)).scalar_one())
    h = usage_log_heads.c
    size = conn.execute(sa.select(h.size).where(h.org_id == org_id)).scalar_one_or_none()
    return int(size or 0)


def latest(conn: Connection, org_id: int, origin: str) -> SignedHead | None:
    """The log's latest checkpoint, or None before its first."""
    c = receipt_checkpoints.c
    row = conn.execute(
        sa.select(c.size, c.root, c.note, c.signed_at)
        .where(c.org_id == org_id)
        .order_by(c.size.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return SignedHead(org_id, origin, int(row.size), bytes(row.root), row.note, _utc(row.signed_at))


def checkpoint_at(conn: Connection, org_id: int, origin: str, size: int) -> SignedHead | None:
    c = receipt_checkpoints.c
    row = conn.execute(
        sa.select(c.root, c.note, c.signed_at).where((c.org_id == org_id) & (c.size == size))
    ).first()
    if row is None:
        return None
    return SignedHead(org_id, origin, size, bytes(row.root), row.note, _utc(row.signed_at))


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def sign_log(
    conn: Connection, signer: LogSigner, org_id: int, now: datetime, target: int | None = None
) -> SignedHead | None:
    """Grow `org_id`'s tiles to its log's size and sign that head; None if it has no new
    leaves since its latest checkpoint."""
    h = receipt_heads.c
    select = sa.select(h.size).where(h.org_id == org_id)
    if conn.dialect.name == "postgresql":
        select = select.with_for_update()
    signed = conn.execute(select).scalar_one_or_none()
    old = int(signed or 0)
    size = log_size(conn, org_id) if target is None else target
    if size <= old and signed is not None:
        return None
    writer = tiles_store.writer_at(conn, org_id, old)
    for leaf in read_leaves(conn, org_id, old, size):
        writer.append(leaf_hash(leaf))
    tiles_store.save(conn, org_id, writer)
    root = writer.root()
    origin = signer.origin(org_id)
    note = Checkpoint(origin, size, root).sign([signer.signer(org_id)])
    conn.execute(
        receipt_checkpoints.insert().values(
            org_id=org_id, size=size, root=root, note=note, signed_at=now
        )
    )
    if signed is None:
        conn.execute(receipt_heads.insert().values(org_id=org_id, size=size, signed_at=now))
    else:
        conn.execute(
            receipt_heads.update().where(h.org_id == org_id).values(size=size, signed_at=now)
        )
    return SignedHead(org_id, origin, size, root, note, now)


def due_logs(
    conn: Connection, now: datetime, interval_seconds: float, orgs: Sequence[int] | None = None
) -> list[int]:
    """Organisations whose logs have leaves past their latest checkpoint, signed at least
    `interval_seconds` ago (every such one when the interval is 0)."""
    u = usage_log_heads.c
    h = receipt_heads.c
    query = (
        sa.select(u.org_id, h.signed_at)
        .select_from(usage_log_heads.outerjoin(receipt_heads, h.org_id == u.org_id))
        .where(h.size.is_(None) | (u.size > h.size))
        .order_by(u.org_id)
    )
    if orgs is not None:
        query = query.where(u.org_id.in_(list(orgs)))
    cutoff = now - timedelta(seconds=interval_seconds)
    return [
        int(r.org_id)
        for r in conn.execute(query)
        if r.signed_at is None or interval_seconds <= 0 or _utc(r.signed_at) <= cutoff
    ]


def checkpoint_round(
    engine: Engine,
    signer: LogSigner,
    now: datetime | None = None,
    interval_seconds: float = 60.0,
    orgs: Sequence[int] | None = None,
) -> list[SignedHead]:
    """Sign every log that is due (see `due_logs`); the checkpoints signed."""
    now = now or datetime.now(UTC)
    with engine.connect() as conn:
        due = due_logs(conn, now, interval_seconds, orgs)
    signed: list[SignedHead] = []
    for i in range(0, len(due), ROUND_CHUNK):
        with engine.begin() as conn:
            for org_id in due[i : i + ROUND_CHUNK]:
                head = sign_log(conn, signer, org_id, now)
                if head is not None:
                    signed.append(head)
    return signed
