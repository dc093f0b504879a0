"""Read models of invoices, payments, grants and back-billing, with their JSON shapes (amounts as
decimal strings, instants as ISO 8601 UTC)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any


def iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


@dataclass(frozen=True, slots=True)
class LineView:
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    service_period_start: datetime
    service_period_end: datetime
    corrects: int | None
    key: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "quantity": str(self.quantity),
            "unit_price": str(self.unit_price),
            "amount": str(self.amount),
            "service_period_start": iso(self.service_period_start),
            "service_period_end": iso(self.service_period_end),
            "corrects": self.corrects,
        }


@dataclass(frozen=True, slots=True)
class InvoiceView:
    id: int
    number: int | None
    org: str
    status: str
    currency: str
    period_start: datetime
    period_end: datetime
    lines: tuple[LineView, ...]
    subtotal: Decimal
    credits_applied: Decimal
    total: Decimal
    paid: Decimal = Decimal(0)
    due_at: datetime | None = None
    finalized_at: datetime | None = None
    void_reason: str | None = None
    snapshot: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "number": self.number,
            "org": self.org,
            "status": self.status,
            "currency": self.currency,
            "period_start": iso(self.period_start),
            "period_end": iso(self.period_end),
            "lines": [line.to_dict() for line in self.lines],
            "subtotal": str(self.subtotal),
            "credits_applied": str(self.credits_applied),
            "total": str(self.total),
            "paid": str(self.paid),
            "due_at": iso(self.due_at),
            "finalized_at": iso(self.finalized_at),
            "void_reason": self.void_reason,
            "usage": self.snapshot.get("usage", []),
            "plan": self.snapshot.get("plans", []),
        }


@dataclass(frozen=True, slots=True)
class PaymentView:
    id: int
    invoice_id: int
    amount: Decimal
    paid_at: datetime
    reference: str | None
    invoice_status: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "invoice_id": self.invoice_id,
            "amount": str(self.amount),
            "paid_at": iso(self.paid_at),
            "reference": self.reference,
            "invoice_status": self.invoice_status,
        }


@dataclass(frozen=True, slots=True)
class GrantView:
    id: int
    org: str
    amount: Decimal
    remaining: Decimal
    currency: str
    priority: int
    expires_at: datetime | None
    granted_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "org": self.org,
            "amount": str(self.amount),
            "remaining": str(self.remaining),
            "currency": self.currency,
            "priority": self.priority,
            "expires_at": iso(self.expires_at),
            "granted_at": iso(self.granted_at),
        }


@dataclass(frozen=True, slots=True)
class BalanceView:
    org: str
    currency: str
    balance: Decimal
    grants: tuple[GrantView, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "org": self.org,
            "currency": self.currency,
            "balance": str(self.balance),
            "grants": [g.to_dict() for g in self.grants],
        }


@dataclass(frozen=True, slots=True)
class BackbillView:
    org: str
    plan: str | None
    currency: str
    start: date
    end: date
    rated: Decimal
    invoiced: Decimal
    paid: Decimal
    underpayment: Decimal
    underpayment_pct: Decimal
    audit_cost_due: bool
    due_date: date
    lines: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "org": self.org,
            "at_plan": self.plan,
            "currency": self.currency,
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "rated": str(self.rated),
            "invoiced": str(self.invoiced),
            "paid": str(self.paid),
            "underpayment": str(self.underpayment),
            "underpayment_pct": str(self.underpayment_pct),
            "audit_cost_due": self.audit_cost_due,
            "due_date": self.due_date.isoformat(),
            "lines": list(self.lines),
        }


@dataclass(frozen=True, slots=True)
class RunSummary:
    as_of: datetime
    rated_periods: int = 0
    lines_booked: int = 0
    drafts: tuple[int, ...] = ()
    finalized: tuple[int, ...] = ()
    plan_changes_applied: int = 0
    skipped: tuple[str, ...] = ()  # organisation: why (e.g. a plan with no price in force)

    def to_dict(self) -> dict[str, Any]:
        return {
            "skipped": list(self.skipped),
            "as_of": iso(self.as_of),
            "rated_periods": self.rated_periods,
            "lines_booked": self.lines_booked,
            "drafts": list(self.drafts),
            "finalized": list(self.finalized),
            "plan_changes_applied": self.plan_changes_applied,
        }
