"""Back-billing arithmetic for an audit (X Developer Agreement §VIII).

What was used, rated at list price (`rated`), against what was invoiced and paid. The
underpayment is `rated - paid`; its percentage has a stated base (default: the amount owed,
i.e. `rated`). At ≥ 5 % the licensee also owes the audit's cost (`audit_cost_due`). The
underpayment is due 30 business days (Monday-Friday) after the audit closes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from tollhouse.billing.money import quantize

AUDIT_COST_THRESHOLD_PCT = Decimal(5)
DUE_BUSINESS_DAYS = 30
PercentBase = Literal["owed", "paid"]


def add_business_days(start: date, days: int) -> date:
    """`days` Monday-to-Friday days after `start` (public holidays are not known here)."""
    current = start
    left = days
    while left > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            left -= 1
    return current


@dataclass(frozen=True, slots=True)
class Underpayment:
    rated: Decimal
    invoiced: Decimal
    paid: Decimal
    underpayment: Decimal
    underpayment_pct: Decimal
    audit_cost_due: bool
    due_date: date


def underpayment(
    rated: Decimal,
    invoiced: Decimal,
    paid: Decimal,
    closed_on: date,
    currency: str = "USD",
    base: PercentBase = "owed",
    threshold_pct: Decimal = AUDIT_COST_THRESHOLD_PCT,
) -> Underpayment:
    """Exact decimals throughout: the percentage is compared unrounded, shown to 2 places."""
    gap = rated - paid
    if gap < 0:
        gap = Decimal(0)
    denominator = rated if base == "owed" else paid
    # Nothing paid against something owed: the whole amount is short (100 %).
    pct = (Decimal(100) if gap else Decimal(0)) if denominator == 0 else gap * 100 / denominator
    return Underpayment(
        rated=quantize(rated, currency),
        invoiced=quantize(invoiced, currency),
        paid=quantize(paid, currency),
        underpayment=quantize(gap, currency),
        underpayment_pct=pct.quantize(Decimal("0.01")),
        audit_cost_due=gap > 0 and pct >= threshold_pct,
        due_date=add_business_days(closed_on, DUE_BUSINESS_DAYS),
    )
