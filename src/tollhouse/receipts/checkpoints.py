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
from tollhouse.receipts.models import (
    OPERATOR_LOG,
    receipt_checkpoints,
    receipt_heads,
    receipt_roots,
)
from tollhouse.receipts.signing import LogSigner
from tollhouse_verify.checkpoint import Checkpoint
from tollhouse_verify.tiles import TileWriter
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


def sign_log(conn: Connection, signer: LogSigner, org_id: int, now: datetime) -> SignedHead | None:
    """Grow `org_id`'s tiles to its log's size and sign that head; None if it has no new
    leaves since its latest checkpoint."""
    heads = sign_logs(conn, signer, [org_id], now)
    return heads[0] if heads else None


_UPSERT_TILE = (
    "INSERT INTO receipt_tiles (org_id, level, n, hashes) VALUES (:o, :l, :n, :h)"
    " ON CONFLICT (org_id, level, n) DO UPDATE SET hashes = excluded.hashes"
)
_UPSERT_HEAD = (
    "INSERT INTO receipt_heads (org_id, size, signed_at, frontier) VALUES (:o, :s, :t, :f)"
    " ON CONFLICT (org_id) DO UPDATE SET size = excluded.size, signed_at = excluded.signed_at,"
    " frontier = excluded.frontier"
)


def sign_logs(
    conn: Connection, signer: LogSigner, org_ids: Sequence[int], now: datetime
) -> list[SignedHead]:
    """`sign_log` for many logs at once: a few statements in all, not a few per log (a round
    over 10 000 organisations is bench/receipts.py's second part)."""
    if not org_ids:
        return []
    orgs = sorted(set(org_ids))
    h = receipt_heads.c
    select = sa.select(h.org_id, h.size, h.frontier).where(h.org_id.in_(orgs))
    if conn.dialect.name == "postgresql":
        select = select.with_for_update()
    signed = {int(r.org_id): (int(r.size), bytes(r.frontier)) for r in conn.execute(select)}
    sizes = {org: log_size(conn, org) for org in orgs if org == OPERATOR_LOG}
    usage_orgs = [org for org in orgs if org != OPERATOR_LOG]
    if usage_orgs:
        u = usage_log_heads.c
        sizes.update(
            (int(r.org_id), int(r.size))
            for r in conn.execute(sa.select(u.org_id, u.size).where(u.org_id.in_(usage_orgs)))
        )
    new_leaves = _new_leaves(conn, orgs, {org: signed.get(org, (0, b""))[0] for org in orgs}, sizes)
    tiles: list[dict[str, object]] = []
    checkpoints: list[dict[str, object]] = []
    heads: list[dict[str, object]] = []
    out: list[SignedHead] = []
    for org in orgs:
        old, frontier = signed.get(org, (0, b""))
        size = sizes.get(org, 0)
        if size <= old and org in signed:
            continue
        writer = TileWriter.from_frontier(old, frontier)
        for leaf in new_leaves.get(org, ()):
            writer.append(leaf_hash(leaf))
        if writer.size != size:
            raise RuntimeError(f"log {org} has a gap below {size}")
        tiles += [
            {"o": org, "l": lv, "n": n, "h": data} for (lv, n), data in writer.changed().items()
        ]
        root = writer.root()
        origin = signer.origin(org)
        note = Checkpoint(origin, size, root).sign([signer.signer(org)])
        checkpoints.append({"org_id": org, "size": size, "root": root, "note": note,
                            "signed_at": now})  # fmt: skip
        heads.append({"o": org, "s": size, "t": now, "f": writer.frontier()})
        out.append(SignedHead(org, origin, size, root, note, now))
    if tiles:
        conn.execute(sa.text(_UPSERT_TILE), tiles)
    if checkpoints:
        conn.execute(receipt_checkpoints.insert(), checkpoints)
        conn.execute(sa.text(_UPSERT_HEAD).bindparams(sa.bindparam("t", type_=_TS)), heads)
    return out


_TS = sa.DateTime(timezone=True)


def _new_leaves(
    conn: Connection, orgs: Sequence[int], old: dict[int, int], sizes: dict[int, int]
) -> dict[int, list[bytes]]:
    """The leaves [old, size) of each log, in index order, in one query for the usage logs."""
    out: dict[int, list[bytes]] = {}
    if OPERATOR_LOG in orgs:
        out[OPERATOR_LOG] = read_leaves(conn, OPERATOR_LOG, old[OPERATOR_LOG], sizes[OPERATOR_LOG])
    usage_orgs = [o for o in orgs if o != OPERATOR_LOG and sizes.get(o, 0) > old[o]]
    if not usage_orgs:
        return out
    u = usage_log.c
    h = receipt_heads.c
    query = (
        sa.select(u.org_id, u.idx, u.leaf)
        .select_from(usage_log.outerjoin(receipt_heads, h.org_id == u.org_id))
        .where(u.org_id.in_(usage_orgs) & (u.idx >= sa.func.coalesce(h.size, 0)))
        .order_by(u.org_id, u.idx)
    )
    for org_id, idx, leaf in conn.execute(query):
        if idx < sizes[org_id]:  # rows stored after the sizes were read wait for the next round
            out.setdefault(int(org_id), []).append(bytes(leaf))
    return out


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
            signed += sign_logs(conn, signer, due[i : i + ROUND_CHUNK], now)
    return signed
