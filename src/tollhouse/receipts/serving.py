"""What a licensee reads of its own log, always at or below its latest checkpoint: the
checkpoint, hash tiles, entry bundles, a receipt (tlog-proof) for one request id, and
consistency proofs between two sizes. Each function takes the organisation id of the caller's
key and reads only that log."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tollhouse.metering.models import usage_log
from tollhouse.receipts import tiles_store
from tollhouse.receipts.checkpoints import SignedHead, checkpoint_at, latest, read_leaves
from tollhouse.receipts.errors import BadProofRequest, NotCheckpointed
from tollhouse.receipts.signing import LogSigner
from tollhouse_verify.proof import Receipt
from tollhouse_verify.tiles import TILE_HEIGHT, TILE_WIDTH, TileRef, encode_bundle
from tollhouse_verify.tree import HASH_SIZE, consistency_proof, inclusion_proof


def head(conn: Connection, signer: LogSigner, org_id: int) -> SignedHead:
    found = latest(conn, org_id, signer.origin(org_id))
    if found is None:
        raise NotCheckpointed("this organisation's usage log has no checkpoint yet")
    return found


def _available(ref: TileRef, size: int) -> None:
    """Refuse a tile the latest checkpoint does not cover at that width."""
    count = size >> (TILE_HEIGHT * (ref.level or 0))
    if (ref.n + 1) * TILE_WIDTH <= count:
        return  # a full tile; partial widths of it are prefixes of it
    if ref.width < TILE_WIDTH and ref.n * TILE_WIDTH + ref.width <= count:
        return
    raise NotCheckpointed("no such tile in the latest checkpoint")


def tile(conn: Connection, signer: LogSigner, org_id: int, ref: TileRef) -> bytes:
    """A hash tile (`ref.level` set) or an entry bundle (`ref.level` None)."""
    size = head(conn, signer, org_id).size
    _available(ref, size)
    if ref.level is None:
        lo = ref.n * TILE_WIDTH
        return encode_bundle(read_leaves(conn, org_id, lo, lo + ref.width))
    data = tiles_store.read_tile(conn, org_id, ref.level, ref.n)
    return data[: ref.width * HASH_SIZE]


def receipt(conn: Connection, signer: LogSigner, org_id: int, request_id: str) -> str:
    """The tlog-proof of the leaf of `request_id` in the latest checkpoint (the leaf itself in
    its `extra` line)."""
    u = usage_log.c
    row = conn.execute(
        sa.select(u.idx, u.leaf).where((u.org_id == org_id) & (u.request_id == request_id))
    ).first()
    if row is None:
        raise NotCheckpointed(f"no request {request_id} in this organisation's usage log")
    current = head(conn, signer, org_id)
    index = int(row.idx)
    if index >= current.size:
        raise NotCheckpointed(
            f"request {request_id} is in the log but not yet in a checkpoint (pending)"
        )
    tree = tiles_store.tiled_tree(conn, org_id, current.size)
    proof = inclusion_proof(index, current.size, tree.range_hash)
    return Receipt(index, tuple(proof), current.note, extra=bytes(row.leaf)).encode()


def consistency(
    conn: Connection, signer: LogSigner, org_id: int, old: int, new: int
) -> list[bytes]:
    """The consistency proof from size `old` to size `new` (a checkpointed size)."""
    current = head(conn, signer, org_id)
    if not 0 <= old <= new:
        raise BadProofRequest("`old` must be at most `new`")
    if new > current.size:
        raise BadProofRequest(f"`new` is above the latest checkpoint's size {current.size}")
    if checkpoint_at(conn, org_id, current.origin, new) is None:
        raise BadProofRequest(f"no checkpoint of size {new}")
    tree = tiles_store.tiled_tree(conn, org_id, new)
    return consistency_proof(old, new, tree.range_hash)
