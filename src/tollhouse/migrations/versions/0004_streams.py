"""streams: filtered-stream rules

Revision ID: 0004_streams
Revises: 0001_corpus
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tollhouse.migrations import applies

revision = "0004_streams"
down_revision = "0001_corpus"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if not applies("streams"):
        return
    op.create_table(
        "stream_rules",
        sa.Column("id", sa.BigInteger, autoincrement=False, nullable=False),
        sa.Column("app_id", sa.String(64), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("tag", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_stream_rules"),
        sa.UniqueConstraint("app_id", "value", name="uq_stream_rules_app_id_value"),
    )
    op.create_index("ix_stream_rules_app_id_id", "stream_rules", ["app_id", "id"])


def downgrade() -> None:
    if not applies("streams"):
        return
    op.drop_index("ix_stream_rules_app_id_id", table_name="stream_rules")
    op.drop_table("stream_rules")
