"""metering: usage events, hourly rollups, daily distinct-post sketches

Revision ID: 0003_metering
Revises: 0001_corpus
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_metering"
down_revision = "0001_corpus"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_events",
        sa.Column("request_id", sa.String(36), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("org_id", sa.BigInteger),
        sa.Column("app_id", sa.BigInteger),
        sa.Column("key_id", sa.String(64)),
        sa.Column("endpoint", sa.String(64), nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("status", sa.SmallInteger, nullable=False),
        sa.Column("posts", sa.Integer, nullable=False),
        sa.Column("new_posts", sa.Integer, nullable=False),
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.Column("duration_us", sa.BigInteger, nullable=False),
        sa.Column("client_ip", sa.String(64)),
        sa.Column("user_agent", sa.String(512)),
        sa.Column("end_user", sa.String(200)),
        sa.Column("end_user_id", sa.BigInteger),
        sa.PrimaryKeyConstraint("request_id", name="pk_usage_events"),
    )
    op.create_index("ix_usage_events_org_id_occurred_at", "usage_events", ["org_id", "occurred_at"])
    op.create_table(
        "usage_rollups",
        sa.Column("org_id", sa.BigInteger, nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("app_id", sa.BigInteger, nullable=False),
        sa.Column("endpoint", sa.String(64), nullable=False),
        sa.Column("status_class", sa.SmallInteger, nullable=False),
        sa.Column("requests", sa.BigInteger, nullable=False),
        sa.Column("posts", sa.BigInteger, nullable=False),
        sa.Column("new_posts", sa.BigInteger, nullable=False),
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.Column("errors", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint(
            "org_id", "hour", "app_id", "endpoint", "status_class", name="pk_usage_rollups"
        ),
        # SQLite: store rows in primary-key order, so a year of one organisation is one
        # sequential range instead of a lookup per row (the usage query's whole cost).
        sqlite_with_rowid=False,
    )
    op.create_table(
        "usage_sketches",
        sa.Column("org_id", sa.BigInteger, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("app_id", sa.BigInteger, nullable=False),
        sa.Column("sketch", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "day", "app_id", name="pk_usage_sketches"),
    )


def downgrade() -> None:
    op.drop_table("usage_sketches")
    op.drop_table("usage_rollups")
    op.drop_index("ix_usage_events_org_id_occurred_at", table_name="usage_events")
    op.drop_table("usage_events")
