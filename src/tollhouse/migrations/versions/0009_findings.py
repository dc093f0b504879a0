"""compliance findings: what the rules read on usage events (client network, search query
string, stream rules in force, delivered post ids) and the findings, canaries and evaluation
runs of the compliance domain

Revision ID: 0009_findings
Revises: 0005_metering_daily
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tollhouse.migrations import applies

revision = "0009_findings"
down_revision = "0005_metering_daily"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    # Metering's columns run on every database (a usage database of its own included).
    with op.batch_alter_table("usage_events") as batch:
        batch.add_column(sa.Column("client_network", sa.String(64)))
        batch.add_column(sa.Column("query_string", sa.Text))
        batch.add_column(sa.Column("stream_rules", sa.JSON))
        batch.add_column(sa.Column("post_ids", sa.LargeBinary))
    if not applies("compliance"):
        return
    op.create_table(
        "compliance_findings",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("natural_key", sa.String(255), nullable=False),
        sa.Column("org_id", sa.BigInteger, nullable=False),
        sa.Column("app_id", sa.BigInteger),
        sa.Column("key_id", sa.String(64)),
        sa.Column("rule", sa.String(60), nullable=False),
        sa.Column("clause", sa.String(200), nullable=False),
        sa.Column("agreement_version", sa.String(40)),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("grade", sa.String(10), nullable=False),
        sa.Column("period_start", TS, nullable=False),
        sa.Column("period_end", TS, nullable=False),
        sa.Column("evidence", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.Text),
        sa.Column("status_actor", sa.String(200)),
        sa.Column("status_at", TS),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_compliance_findings"),
        sa.UniqueConstraint("natural_key", name="uq_compliance_findings_natural_key"),
    )
    op.create_index(
        "ix_compliance_findings_org_id_rule",
        "compliance_findings",
        ["org_id", "rule", "period_start"],
    )
    op.create_table(
        "compliance_canaries",
        sa.Column("post_id", sa.BigInteger, autoincrement=False, nullable=False),
        sa.Column("org_id", sa.BigInteger, nullable=False),
        sa.Column("planted_at", TS, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("post_id", name="pk_compliance_canaries"),
    )
    op.create_table(
        "compliance_evaluations",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("orgs", sa.JSON, nullable=False),
        sa.Column("period_start", TS, nullable=False),
        sa.Column("period_end", TS, nullable=False),
        sa.Column("summary", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_compliance_evaluations"),
    )


def downgrade() -> None:
    if applies("compliance"):
        op.drop_table("compliance_evaluations")
        op.drop_table("compliance_canaries")
        op.drop_index("ix_compliance_findings_org_id_rule", "compliance_findings")
        op.drop_table("compliance_findings")
    with op.batch_alter_table("usage_events") as batch:
        batch.drop_column("post_ids")
        batch.drop_column("stream_rules")
        batch.drop_column("query_string")
        batch.drop_column("client_network")
