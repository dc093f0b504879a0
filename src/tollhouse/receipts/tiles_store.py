"""The hash tiles of a log in SQL: read the ones a proof needs, grow the ones at the end."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tollhouse.receipts.errors import NotCheckpointed
from tollhouse.receipts.models import receipt_tiles
from tollhouse_verify.tiles import TiledTree, TileWriter, rightmost_tiles
from tollhouse_verify.tree import HASH_SIZE

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


def writer_at(conn: Connection, org_id: int, size: int) -> TileWriter:
    """A tile writer resuming the log at `size` from its stored partial tiles."""
    partial: dict[int, list[bytes]] = {}
    for level, n, width in rightmost_tiles(size):
        data = read_tile(conn, org_id, level, n)[: width * HASH_SIZE]
        partial[level] = [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]
    return TileWriter(size, partial)


def save(conn: Connection, org_id: int, writer: TileWriter) -> None:
    """Store the tiles `writer` changed (insert or grow)."""
    changed = writer.changed()
    if not changed:
        return
    keys = list(changed)
    existing = {
        (int(r.level), int(r.n))
        for r in conn.execute(
            sa.select(_t.level, _t.n).where(
                (_t.org_id == org_id)
                & sa.tuple_(_t.level, _t.n).in_([sa.tuple_(lv, n) for lv, n in keys])
            )
        )
    }
    inserts = [
        {"org_id": org_id, "level": lv, "n": n, "hashes": data}
        for (lv, n), data in changed.items()
        if (lv, n) not in existing
    ]
    if inserts:
        conn.execute(receipt_tiles.insert(), inserts)
    for lv, n in existing:
        conn.execute(
            receipt_tiles.update()
            .where((_t.org_id == org_id) & (_t.level == lv) & (_t.n == n))
            .values(hashes=changed[(lv, n)])
        )
