"""billing: prices, accounts, subscriptions, rating runs, invoices and their lines, the invoice
number counter, credit notes, payments, credit grants and their applications

Revision ID: 0006_billing
Revises: 0005_metering_daily
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tollhouse.migrations import applies

revision = "0006_billing"
down_revision = "0005_metering_daily"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
AMOUNT = sa.String(48)  # exact decimal text


def _id() -> sa.Column[int]:
    return sa.Column("id", ID, primary_key=True, autoincrement=True)


def upgrade() -> None:
    if not applies("billing"):
        return
    op.create_table(
        "billing_prices",
        _id(),
        sa.Column("plan", sa.String(40), nullable=False),
        sa.Column("starting_at", TS, nullable=False),
        sa.Column("ending_before", TS),
        sa.Column("definition", sa.JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("plan", "starting_at", name="uq_billing_prices_plan_starting_at"),
    )
    op.create_table(
        "billing_accounts",
        sa.Column("org_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("time_zone", sa.String(64)),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "subscriptions",
        _id(),
        sa.Column("org_id", sa.BigInteger, nullable=False),
        sa.Column("plan", sa.String(40), nullable=False),
        sa.Column("effective_at", TS, nullable=False),
        sa.Column("change", sa.String(16), nullable=False),
        sa.Column("applied", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("org_id", "effective_at", name="uq_subscriptions_org_id_effective_at"),
    )
    op.create_table(
        "rating_runs",
        _id(),
        sa.Column("org_id", sa.BigInteger, nullable=False),
        sa.Column("period_start", TS, nullable=False),
        sa.Column("period_end", TS, nullable=False),
        sa.Column("as_of", TS, nullable=False),
        sa.Column("usage_state", sa.JSON, nullable=False),
        sa.Column("lines_booked", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_rating_runs_org_id_period_start", "rating_runs", ["org_id", "period_start"])
    op.create_table(
        "invoices",
        _id(),
        sa.Column("org_id", sa.BigInteger, nullable=False),
        sa.Column("period_start", TS, nullable=False),
        sa.Column("period_end", TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("number", sa.BigInteger),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("snapshot", sa.JSON, nullable=False),
        sa.Column("subtotal", AMOUNT, nullable=False),
        sa.Column("credits_applied", AMOUNT, nullable=False),
        sa.Column("total", AMOUNT, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("finalized_at", TS),
        sa.Column("due_at", TS),
        sa.Column("voided_at", TS),
        sa.Column("void_reason", sa.Text),
        sa.UniqueConstraint("number", name="uq_invoices_number"),
        sa.UniqueConstraint("org_id", "period_start", name="uq_invoices_org_id_period_start"),
    )
    op.create_table(
        "invoice_lines",
        _id(),
        sa.Column("invoice_id", sa.BigInteger, nullable=False),
        sa.Column("line_key", sa.String(200), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("quantity", AMOUNT, nullable=False),
        sa.Column("unit_price", AMOUNT, nullable=False),
        sa.Column("amount", AMOUNT, nullable=False),
        sa.Column("precise", AMOUNT, nullable=False),
        sa.Column("service_period_start", TS, nullable=False),
        sa.Column("service_period_end", TS, nullable=False),
        sa.Column("corrects", sa.BigInteger),
        sa.Column("run_id", sa.BigInteger),
        sa.UniqueConstraint("invoice_id", "line_key", name="uq_invoice_lines_invoice_id_line_key"),
    )
    op.create_table(
        "invoice_numbers",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("last_number", sa.BigInteger, nullable=False),
    )
    op.execute("INSERT INTO invoice_numbers (id, last_number) VALUES (1, 0)")
    op.create_table(
        "credit_notes",
        _id(),
        sa.Column("invoice_id", sa.BigInteger, nullable=False),
        sa.Column("amount", AMOUNT, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "payments",
        _id(),
        sa.Column("invoice_id", sa.BigInteger, nullable=False),
        sa.Column("amount", AMOUNT, nullable=False),
        sa.Column("paid_at", TS, nullable=False),
        sa.Column("reference", sa.String(200)),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("invoice_id", "reference", name="uq_payments_invoice_id_reference"),
    )
    op.create_table(
        "credit_grants",
        _id(),
        sa.Column("org_id", sa.BigInteger, nullable=False),
        sa.Column("amount", AMOUNT, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("expires_at", TS),
        sa.Column("granted_at", TS, nullable=False),
    )
    op.create_index("ix_credit_grants_org_id", "credit_grants", ["org_id"])
    op.create_table(
        "credit_applications",
        _id(),
        sa.Column("grant_id", sa.BigInteger, nullable=False),
        sa.Column("invoice_id", sa.BigInteger, nullable=False),
        sa.Column("amount", AMOUNT, nullable=False),
        sa.Column("applied_at", TS, nullable=False),
        sa.UniqueConstraint("grant_id", "invoice_id", name="uq_credit_applications_grant_invoice"),
    )


def downgrade() -> None:
    if not applies("billing"):
        return
    for table in (
        "credit_applications", "credit_grants", "payments", "credit_notes", "invoice_numbers",
        "invoice_lines", "invoices", "rating_runs", "subscriptions", "billing_accounts",
        "billing_prices",
    ):  # fmt: skip
        op.drop_table(table)
