"""The hash tiles of a log in SQL, read as proofs need them (`checkpoints` writes them)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tollhouse.receipts.errors import NotCheckpointed
from tollhouse.receipts.models import receipt_tiles
from tollhouse_verify.tiles import TiledTree

_t = receipt_tiles.c


def read_tile(conn: Connection, org_id: int, level: int, n: int) -> bytes:
    data = conn.execute(
        sa.select(_t.hashes).where((_t.org_id == org_id) & (_t.level == level) & (_t.n == n))
    ).scalar_one_or_none()
    if data is None:
        raise NotCheckpointed(f"no tile {level}/{n} in log {org_id}")
    return bytes(data)


def tiled_tree(conn: Connection, org_id: int, size: int) -> TiledTree:
    """The log's tree at `size` (at most its tiles' size), read from the tiles as needed."""
    return TiledTree(size, lambda level, n: read_tile(conn, org_id, level, n))
