"""metering: rollups per UTC day beside the hourly ones (a year's usage query reads ~30 k rows
instead of ~770 k); filled from the hourly rollups already stored

Revision ID: 0005_metering_daily
Revises: 0003_metering
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_metering_daily"
down_revision = "0003_metering"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_rollups_daily",
        sa.Column("org_id", sa.BigInteger, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("app_id", sa.BigInteger, nullable=False),
        sa.Column("endpoint", sa.String(64), nullable=False),
        sa.Column("status_class", sa.SmallInteger, nullable=False),
        sa.Column("requests", sa.BigInteger, nullable=False),
        sa.Column("posts", sa.BigInteger, nullable=False),
        sa.Column("new_posts", sa.BigInteger, nullable=False),
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.Column("errors", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint(
            "org_id", "day", "app_id", "endpoint", "status_class", name="pk_usage_rollups_daily"
        ),
        sqlite_with_rowid=False,
    )
    # SQLite stores the hour as "YYYY-MM-DD HH:MM:SS.ffffff" (UTC) and a date as "YYYY-MM-DD".
    day = (
        "substr(hour, 1, 10)"
        if op.get_bind().dialect.name == "sqlite"
        else "CAST(hour AT TIME ZONE 'UTC' AS date)"
    )
    op.execute(
        "INSERT INTO usage_rollups_daily (org_id, day, app_id, endpoint, status_class, requests,"
        f" posts, new_posts, bytes, errors) SELECT org_id, {day}, app_id, endpoint, status_class,"
        " SUM(requests), SUM(posts), SUM(new_posts), SUM(bytes), SUM(errors) FROM usage_rollups"
        " GROUP BY 1, 2, 3, 4, 5"
    )


def downgrade() -> None:
    op.drop_table("usage_rollups_daily")
