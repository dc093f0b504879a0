"""Receipts tables. They live beside metering's usage log (the usage database: a file of its own
on SQLite), because every checkpoint reads the log's new leaves and writes the tiles built from
them in one transaction.

Log id 0 is the operator log (`<host>/usage-roots`): one leaf per day-close checkpoint of any
organisation; organisation ids start at 1.
"""

from __future__ import annotations

import sqlalchemy as sa

from tollhouse.db import metadata

OPERATOR_LOG = 0

# The hash tiles of every log (tlog-tiles: level L holds hashes of height 8·L, 256 a tile). A
# tile grows until it is full and never changes after; a partial tile for an older tree size is
# a prefix of the stored one.
receipt_tiles = sa.Table(
    "receipt_tiles",
    metadata,
    sa.Column("org_id", sa.BigInteger, primary_key=True),
    sa.Column("level", sa.SmallInteger, primary_key=True),
    sa.Column("n", sa.BigInteger, primary_key=True),
    sa.Column("hashes", sa.LargeBinary, nullable=False),
    sqlite_with_rowid=False,
)

# Every checkpoint ever signed (signed notes), one per log and size.
receipt_checkpoints = sa.Table(
    "receipt_checkpoints",
    metadata,
    sa.Column("org_id", sa.BigInteger, primary_key=True),
    sa.Column("size", sa.BigInteger, primary_key=True),
    sa.Column("root", sa.LargeBinary(32), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
)

# The latest checkpoint of each log: how far its tiles are built, when it was signed, and the
# partial tile at the end of each level (TileWriter.frontier): a round resumes every log from
# this one row instead of reading its tiles back.
receipt_heads = sa.Table(
    "receipt_heads",
    metadata,
    sa.Column("org_id", sa.BigInteger, primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("frontier", sa.LargeBinary, nullable=False),
)

# The day closes appended to each organisation's log: the close leaf's index and its range.
receipt_closes = sa.Table(
    "receipt_closes",
    metadata,
    sa.Column("org_id", sa.BigInteger, primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("idx", sa.BigInteger, nullable=False),
    sa.Column("range_start", sa.BigInteger, nullable=False),
    sa.Column("range_end", sa.BigInteger, nullable=False),
)

# The operator log's leaves: SHA-256 of each day-close checkpoint note, in order.
receipt_roots = sa.Table(
    "receipt_roots",
    metadata,
    sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("org_id", sa.BigInteger, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("leaf", sa.LargeBinary, nullable=False),
    sa.UniqueConstraint("org_id", "size", name="uq_receipt_roots_org_id_size"),
)
