"""access: plans, organisations, apps, keys, end users, agreements, admin audit, access_version

Revision ID: 0002_access
Revises: 0001_corpus
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tollhouse.migrations import applies

revision = "0002_access"
down_revision = "0001_corpus"
branch_labels = ("access",)
depends_on = None

TS = sa.DateTime(timezone=True)
BUILTIN_USE_CASES = {
    "display": "Display posts to people in an app or website.",
    "search_and_analytics": "Search posts and analyse them in aggregate.",
    "academic_research": "Non-commercial research at an academic institution.",
    "ads_management": "Manage and measure advertising.",
    "model_training": "Train or fine-tune machine-learning models.",
    "monitoring": "Monitor topics, brands or events.",
}


def upgrade() -> None:
    if not applies("access"):
        return
    op.create_table(
        "plans",
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("definition", sa.JSON, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_plans"),
    )
    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("plan_name", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.Text),
        sa.Column("billing_day", sa.Integer, nullable=False),
        sa.Column("contacts", sa.JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_organisations"),
        sa.UniqueConstraint("name", name="uq_organisations_name"),
        sa.ForeignKeyConstraint(
            ["plan_name"], ["plans.name"], name="fk_organisations_plan_name_plans"
        ),
    )
    use_cases = op.create_table(
        "use_cases",
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_use_cases"),
    )
    op.bulk_insert(use_cases, [{"name": k, "description": v} for k, v in BUILTIN_USE_CASES.items()])
    op.create_table(
        "apps",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("use_cases", sa.JSON, nullable=False),
        sa.Column("use_case_text", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_apps"),
        sa.UniqueConstraint("name", name="uq_apps_name"),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name="fk_apps_org_id_organisations"
        ),
    )
    op.create_index("ix_apps_org_id", "apps", ["org_id"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(16), nullable=False),
        sa.Column("app_id", sa.Integer, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS),
        sa.Column("revoked_at", TS),
        sa.Column("replaced_by", sa.String(16)),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.ForeignKeyConstraint(["app_id"], ["apps.id"], name="fk_api_keys_app_id_apps"),
    )
    op.create_index("ix_api_keys_app_id", "api_keys", ["app_id"])
    op.create_table(
        "end_users",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("sector", sa.String(16), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("approved", sa.Boolean, nullable=False),
        sa.Column("approved_at", TS),
        sa.Column("approved_by", sa.String(100)),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_end_users"),
        sa.UniqueConstraint("org_id", "name", name="uq_end_users_org_id_name"),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name="fk_end_users_org_id_organisations"
        ),
    )
    op.create_table(
        "agreement_versions",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("version", sa.String(40), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("terms", sa.JSON, nullable=False),
        sa.Column("published_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_agreement_versions"),
        sa.UniqueConstraint("version", name="uq_agreement_versions_version"),
    )
    op.create_table(
        "agreement_acceptances",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("org_id", sa.Integer, nullable=False),
        sa.Column("agreement_id", sa.Integer, nullable=False),
        sa.Column("accepted_by", sa.String(200), nullable=False),
        sa.Column("accepted_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_agreement_acceptances"),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisations.id"], name="fk_agreement_acceptances_org_id_organisations"
        ),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["agreement_versions.id"],
            name="fk_agreement_acceptances_agreement_id_agreement_versions",
        ),
    )
    op.create_index("ix_agreement_acceptances_org_id", "agreement_acceptances", ["org_id"])
    op.create_table(
        "admin_audit",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("target_type", sa.String(30), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("before", sa.JSON),
        sa.Column("after", sa.JSON),
        sa.PrimaryKeyConstraint("id", name="pk_admin_audit"),
    )
    _make_audit_append_only(bind_is_pg=op.get_bind().dialect.name == "postgresql")
    version = op.create_table(
        "access_version",
        sa.Column("id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_access_version"),
    )
    op.bulk_insert(version, [{"id": 1, "version": 1}])


def _make_audit_append_only(bind_is_pg: bool) -> None:
    """The admin audit trail is append-only in the database itself, not just by convention."""
    if bind_is_pg:
        op.execute(
            "CREATE FUNCTION admin_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'admin_audit is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER admin_audit_append_only BEFORE UPDATE OR DELETE ON admin_audit "
            "FOR EACH ROW EXECUTE FUNCTION admin_audit_append_only()"
        )
        return
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER admin_audit_no_{event.lower()} BEFORE {event} ON admin_audit "
            "BEGIN SELECT RAISE(ABORT, 'admin_audit is append-only'); END"
        )


def downgrade() -> None:
    if not applies("access"):
        return
    for table in (
        "access_version",
        "admin_audit",
        "agreement_acceptances",
        "agreement_versions",
        "end_users",
        "api_keys",
        "apps",
        "use_cases",
        "organisations",
        "plans",
    ):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS admin_audit_append_only()")
