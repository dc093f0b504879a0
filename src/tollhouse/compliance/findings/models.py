"""Findings tables (migration 0009_findings): findings, planted canary posts, evaluation runs."""

from __future__ import annotations

import sqlalchemy as sa

from tollhouse.db import metadata

TS = sa.DateTime(timezone=True)
_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")

findings = sa.Table(
    "compliance_findings",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    # rule|org|app|key|subject|period start: what makes a re-evaluation update, not duplicate.
    sa.Column("natural_key", sa.String(255), nullable=False, unique=True),
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
    sa.Index("ix_compliance_findings_org_id_rule", "org_id", "rule", "period_start"),
)

# A canary is a synthetic post the platform serves to one licensee only: any other licensee
# holding it got it from that one.
canaries = sa.Table(
    "compliance_canaries",
    metadata,
    sa.Column("post_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("org_id", sa.BigInteger, nullable=False),
    sa.Column("planted_at", TS, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
)

evaluations = sa.Table(
    "compliance_evaluations",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("at", TS, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("orgs", sa.JSON, nullable=False),
    sa.Column("period_start", TS, nullable=False),
    sa.Column("period_end", TS, nullable=False),
    sa.Column("summary", sa.JSON, nullable=False),
)
