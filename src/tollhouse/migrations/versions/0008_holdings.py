"""holdings: the delivery ledger (usage database); content events, compliance jobs and notices

Revision ID: 0008_holdings
Revises: 0007_receipts
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tollhouse.migrations import applies

revision = "0008_holdings"
down_revision = "0007_receipts"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "delivery_ledger",
        sa.Column("org_id", sa.BigInteger, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("app_id", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.SmallInteger, nullable=False),
        sa.Column("chunk", sa.Integer, nullable=False),
        sa.Column("ids", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint(
            "org_id", "day", "app_id", "kind", "chunk", name="pk_delivery_ledger"
        ),
    )
    if not applies("compliance"):
        return
    op.create_table(
        "content_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("subject", sa.String(4), nullable=False),
        sa.Column("subject_id", sa.BigInteger, nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("details", sa.JSON, nullable=True),
        sa.Column("recorded_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_content_events"),
    )
    op.create_index(
        "ix_content_events_subject", "content_events", ["subject", "subject_id", "occurred_at"]
    )
    op.create_index("ix_content_events_occurred_at", "content_events", ["occurred_at"])
    op.create_table(
        "compliance_jobs",
        sa.Column("id", sa.BigInteger, autoincrement=False, nullable=False),
        sa.Column("org_id", sa.BigInteger, nullable=False),
        sa.Column("app_id", sa.BigInteger, nullable=False),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("name", sa.String(64), nullable=True),
        sa.Column("resumable", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("upload_token", sa.String(64), nullable=False),
        sa.Column("download_token", sa.String(64), nullable=False),
        sa.Column("uploaded_at", TS, nullable=True),
        sa.Column("completed_at", TS, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("uploaded_ids", sa.LargeBinary, nullable=True),
        sa.Column("result", sa.LargeBinary, nullable=True),
        sa.Column("notices", sa.LargeBinary, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_compliance_jobs"),
        sa.UniqueConstraint("upload_token", name="uq_compliance_jobs_upload_token"),
        sa.UniqueConstraint("download_token", name="uq_compliance_jobs_download_token"),
    )
    op.create_index(
        "ix_compliance_jobs_app_type", "compliance_jobs", ["app_id", "type", "created_at"]
    )
    op.create_index("ix_compliance_jobs_org", "compliance_jobs", ["org_id", "created_at"])
    active = sa.text("status IN ('created', 'in_progress')")
    op.create_index(
        "uq_compliance_jobs_active",
        "compliance_jobs",
        ["app_id", "type"],
        unique=True,
        sqlite_where=active,
        postgresql_where=active,
    )
    op.create_table(
        "compliance_notices",
        sa.Column("org_id", sa.BigInteger, nullable=False),
        sa.Column("event_key", sa.String(40), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("noticed_at", TS, nullable=False),
        sa.Column("reference", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("org_id", "event_key", name="pk_compliance_notices"),
    )


def downgrade() -> None:
    if applies("compliance"):
        op.drop_table("compliance_notices")
        op.drop_index("uq_compliance_jobs_active", table_name="compliance_jobs")
        op.drop_index("ix_compliance_jobs_org", table_name="compliance_jobs")
        op.drop_index("ix_compliance_jobs_app_type", table_name="compliance_jobs")
        op.drop_table("compliance_jobs")
        op.drop_index("ix_content_events_occurred_at", table_name="content_events")
        op.drop_index("ix_content_events_subject", table_name="content_events")
        op.drop_table("content_events")
    op.drop_table("delivery_ledger")
