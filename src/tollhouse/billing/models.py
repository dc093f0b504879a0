"""Billing tables (SQLAlchemy Core). Created only by migration 0006_billing.

Amounts are stored as decimal text, exact on SQLite (whose NUMERIC is a float) and PostgreSQL
alike. Uniqueness that matters is in the database: one invoice per organisation and period, one
line per invoice and key, one number per finalized invoice from a single-row counter.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

from tollhouse.db import metadata

TS = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite's rowid alias is INTEGER


class DecimalText(TypeDecorator[Decimal]):
    """A `Decimal` kept as its exact text."""

    impl = sa.String(48)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"amounts are Decimal, not {type(value).__name__}")
        return str(value)

    def process_result_value(self, value: str | None, dialect: Any) -> Decimal | None:
        return None if value is None else Decimal(value)


AMOUNT = DecimalText()

billing_prices = sa.Table(
    "billing_prices",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("plan", sa.String(40), nullable=False),
    sa.Column("starting_at", TS, nullable=False),
    sa.Column("ending_before", TS),
    sa.Column("definition", sa.JSON, nullable=False),  # PriceVersion.to_dict()
    sa.Column("created_at", TS, nullable=False),
    sa.UniqueConstraint("plan", "starting_at", name="uq_billing_prices_plan_starting_at"),
)

billing_accounts = sa.Table(
    "billing_accounts",
    metadata,
    sa.Column("org_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("time_zone", sa.String(64)),  # None: UTC
    sa.Column("updated_at", TS, nullable=False),
)

subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("org_id", sa.BigInteger, nullable=False),
    sa.Column("plan", sa.String(40), nullable=False),
    sa.Column("effective_at", TS, nullable=False),
    sa.Column("change", sa.String(16), nullable=False),  # start | upgrade | downgrade
    sa.Column("applied", sa.Boolean, nullable=False),  # told access (a downgrade waits)
    sa.Column("created_at", TS, nullable=False),
    sa.UniqueConstraint("org_id", "effective_at", name="uq_subscriptions_org_id_effective_at"),
)

rating_runs = sa.Table(
    "rating_runs",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("org_id", sa.BigInteger, nullable=False),
    sa.Column("period_start", TS, nullable=False),
    sa.Column("period_end", TS, nullable=False),
    sa.Column("as_of", TS, nullable=False),
    sa.Column("usage_state", sa.JSON, nullable=False),  # what was read, and its digest
    sa.Column("lines_booked", sa.Integer, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Index("ix_rating_runs_org_id_period_start", "org_id", "period_start"),
)

invoices = sa.Table(
    "invoices",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("org_id", sa.BigInteger, nullable=False),
    sa.Column("period_start", TS, nullable=False),
    sa.Column("period_end", TS, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # draft | finalized | paid | void
    sa.Column("number", sa.BigInteger, unique=True),
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
    sa.UniqueConstraint("org_id", "period_start", name="uq_invoices_org_id_period_start"),
)

invoice_lines = sa.Table(
    "invoice_lines",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("invoice_id", sa.BigInteger, nullable=False),
    sa.Column("line_key", sa.String(200), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("quantity", AMOUNT, nullable=False),
    sa.Column("unit_price", AMOUNT, nullable=False),
    sa.Column("amount", AMOUNT, nullable=False),  # rounded once
    sa.Column("precise", AMOUNT, nullable=False),
    sa.Column("service_period_start", TS, nullable=False),
    sa.Column("service_period_end", TS, nullable=False),
    sa.Column("corrects", sa.BigInteger),  # the invoice of the period this line corrects
    sa.Column("run_id", sa.BigInteger),
    sa.UniqueConstraint("invoice_id", "line_key", name="uq_invoice_lines_invoice_id_line_key"),
)

invoice_numbers = sa.Table(
    "invoice_numbers",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),  # always 1
    sa.Column("last_number", sa.BigInteger, nullable=False),
)

credit_notes = sa.Table(
    "credit_notes",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("invoice_id", sa.BigInteger, nullable=False),
    sa.Column("amount", AMOUNT, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("created_at", TS, nullable=False),
)

payments = sa.Table(
    "payments",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("invoice_id", sa.BigInteger, nullable=False),
    sa.Column("amount", AMOUNT, nullable=False),
    sa.Column("paid_at", TS, nullable=False),
    sa.Column("reference", sa.String(200)),
    sa.Column("created_at", TS, nullable=False),
    # An imported statement read twice records each payment once.
    sa.UniqueConstraint("invoice_id", "reference", name="uq_payments_invoice_id_reference"),
)

credit_grants = sa.Table(
    "credit_grants",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("org_id", sa.BigInteger, nullable=False),
    sa.Column("amount", AMOUNT, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("priority", sa.Integer, nullable=False),
    sa.Column("expires_at", TS),
    sa.Column("granted_at", TS, nullable=False),
    sa.Index("ix_credit_grants_org_id", "org_id"),
)

credit_applications = sa.Table(
    "credit_applications",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("grant_id", sa.BigInteger, nullable=False),
    sa.Column("invoice_id", sa.BigInteger, nullable=False),
    sa.Column("amount", AMOUNT, nullable=False),
    sa.Column("applied_at", TS, nullable=False),
    sa.UniqueConstraint("grant_id", "invoice_id", name="uq_credit_applications_grant_invoice"),
)
