"""Access tables (SQLAlchemy Core). Created only by migration 0002_access."""

from __future__ import annotations

import enum

import sqlalchemy as sa

from tollhouse.db import ID, metadata


class OrgStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"


class AppStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class Sector(enum.StrEnum):
    GOVERNMENT = "government"
    COMMERCIAL = "commercial"
    ACADEMIC = "academic"
    NONPROFIT = "nonprofit"


# The vocabulary an operator starts with; `use_cases` rows extend it.
BUILTIN_USE_CASES = (
    "display",
    "search_and_analytics",
    "academic_research",
    "ads_management",
    "model_training",
    "monitoring",
)

TS = sa.DateTime(timezone=True)

plans = sa.Table(
    "plans",
    metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("definition", sa.JSON, nullable=False),  # Plan.to_dict()
    sa.Column("updated_at", TS, nullable=False),
)

organisations = sa.Table(
    "organisations",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("plan_name", sa.String(40), sa.ForeignKey("plans.name"), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("status_reason", sa.Text),
    sa.Column("billing_day", sa.Integer, nullable=False),
    sa.Column("contacts", sa.JSON, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
)

use_cases = sa.Table(
    "use_cases",
    metadata,
    sa.Column("name", sa.String(60), primary_key=True),
    sa.Column("description", sa.Text, nullable=False),
)

apps = sa.Table(
    "apps",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("org_id", ID, sa.ForeignKey("organisations.id"), nullable=False),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("use_cases", sa.JSON, nullable=False),
    sa.Column("use_case_text", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Index("ix_apps_org_id", "org_id"),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True),  # the public key id inside the token
    sa.Column("app_id", ID, sa.ForeignKey("apps.id"), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("expires_at", TS),  # set when rotated: the end of the grace period
    sa.Column("revoked_at", TS),
    sa.Column("replaced_by", sa.String(16)),
    sa.Index("ix_api_keys_app_id", "app_id"),
)

end_users = sa.Table(
    "end_users",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("org_id", ID, sa.ForeignKey("organisations.id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("sector", sa.String(16), nullable=False),
    sa.Column("country", sa.String(2), nullable=False),
    sa.Column("approved", sa.Boolean, nullable=False),
    sa.Column("approved_at", TS),
    sa.Column("approved_by", sa.String(100)),
    sa.Column("created_at", TS, nullable=False),
    sa.UniqueConstraint("org_id", "name", name="uq_end_users_org_id_name"),
)

agreement_versions = sa.Table(
    "agreement_versions",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("version", sa.String(40), nullable=False, unique=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("terms", sa.JSON, nullable=False),
    sa.Column("published_at", TS, nullable=False),
)

agreement_acceptances = sa.Table(
    "agreement_acceptances",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("org_id", ID, sa.ForeignKey("organisations.id"), nullable=False),
    sa.Column("agreement_id", ID, sa.ForeignKey("agreement_versions.id"), nullable=False),
    sa.Column("accepted_by", sa.String(200), nullable=False),
    sa.Column("accepted_at", TS, nullable=False),
    sa.Index("ix_agreement_acceptances_org_id", "org_id"),
)

admin_audit = sa.Table(
    "admin_audit",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("at", TS, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("action", sa.String(60), nullable=False),
    sa.Column("target_type", sa.String(30), nullable=False),
    sa.Column("target", sa.String(200), nullable=False),
    sa.Column("before", sa.JSON),
    sa.Column("after", sa.JSON),
)

# One row (id=1) bumped by every access change: processes watch it to flush their key cache.
access_version = sa.Table(
    "access_version",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=False),
    sa.Column("version", sa.BigInteger, nullable=False),
)
