"""metering's usage log (leaves numbered per organisation) and receipts' tiles, checkpoints,
day closes and operator log, all in the usage database

Revision ID: 0007_receipts
Revises: 0006_billing
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_receipts"
down_revision = "0006_billing"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Like metering's own revisions, this runs on every database: receipts read the usage log in
    # the transaction that writes their tiles, so their tables live beside it.
    op.create_table(
        "usage_log",
        sa.Column("org_id", sa.BigInteger, nullable=False),
        sa.Column("idx", sa.BigInteger, nullable=False),
        sa.Column("request_id", sa.String(36), nullable=False),
        sa.Column("leaf", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "idx", name="pk_usage_log"),
        sa.UniqueConstraint("org_id", "request_id", name="uq_usage_log_org_id_request_id"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "usage_log_heads",
        sa.Column("org_id", sa.BigInteger, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("org_id", name="pk_usage_log_heads"),
    )
    op.create_table(
        "receipt_tiles",
        sa.Column("org_id", sa.BigInteger, nullable=False),
        sa.Column("level", sa.SmallInteger, nullable=False),
        sa.Column("n", sa.BigInteger, nullable=False),
        sa.Column("hashes", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "level", "n", name="pk_receipt_tiles"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "receipt_checkpoints",
        sa.Column("org_id", sa.BigInteger, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("signed_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "size", name="pk_receipt_checkpoints"),
    )
    op.create_table(
        "receipt_heads",
        sa.Column("org_id", sa.BigInteger, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("signed_at", TS, nullable=False),
        sa.Column("frontier", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("org_id", name="pk_receipt_heads"),
    )
    op.create_table(
        "receipt_closes",
        sa.Column("org_id", sa.BigInteger, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("idx", sa.BigInteger, nullable=False),
        sa.Column("range_start", sa.BigInteger, nullable=False),
        sa.Column("range_end", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "day", name="pk_receipt_closes"),
    )
    op.create_table(
        "receipt_roots",
        sa.Column("idx", sa.BigInteger, autoincrement=False, nullable=False),
        sa.Column("org_id", sa.BigInteger, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("leaf", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("idx", name="pk_receipt_roots"),
        sa.UniqueConstraint("org_id", "size", name="uq_receipt_roots_org_id_size"),
    )


def downgrade() -> None:
    for table in (
        "receipt_roots",
        "receipt_closes",
        "receipt_heads",
        "receipt_checkpoints",
        "receipt_tiles",
        "usage_log_heads",
        "usage_log",
    ):
        op.drop_table(table)
