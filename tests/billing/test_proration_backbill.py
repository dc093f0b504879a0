from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from tollhouse.billing.backbill import add_business_days, underpayment
from tollhouse.billing.periods import period_containing
from tollhouse.billing.proration import prorate_upgrade

D = Decimal


def test_upgrade_prorated_to_the_second_in_a_31_day_month() -> None:
    march = period_containing(datetime(2026, 3, 20, tzinfo=UTC), 1)
    at = datetime(2026, 3, 15, 10, 0, tzinfo=UTC)
    p = prorate_upgrade(march, at, D(5000), D(42000))
    left = (march.end - at).total_seconds()
    assert left == 16 * 86400 + 14 * 3600
    assert p.fraction == D(int(left)) / D(31 * 86400)
    assert p.credit == -D(5000) * p.fraction
    assert p.charge == D(42000) * p.fraction
    assert p.credit.quantize(D("0.01")) == D("-2674.73")


def test_five_percent_of_the_amount_owed_is_due_exactly() -> None:
    r = underpayment(D("105000.00"), D("99750.00"), D("99750.00"), date(2026, 12, 3))
    assert r.underpayment == D("5250.00")
    assert r.underpayment_pct == D("5.00")
    assert r.audit_cost_due is True
    just_under = underpayment(D("105000.00"), D("99760.50"), D("99760.50"), date(2026, 12, 3))
    assert just_under.underpayment_pct == D("4.99")
    assert just_under.audit_cost_due is False
    # One cent under 5 % exactly is not due either: no rounding before the comparison.
    cent = underpayment(D("105000.00"), D(0), D("99750.01"), date(2026, 12, 3))
    assert cent.audit_cost_due is False


def test_percent_of_paid_is_a_stated_setting() -> None:
    r = underpayment(D("105000"), D(0), D("99750"), date(2026, 12, 3), base="paid")
    assert r.underpayment_pct == D("5.26")
    assert underpayment(D(10), D(0), D(0), date(2026, 1, 1), base="paid").audit_cost_due


def test_due_date_is_thirty_business_days_later() -> None:
    assert add_business_days(date(2026, 12, 3), 30) == date(2027, 1, 14)  # a Thursday
    assert underpayment(D(1), D(0), D(0), date(2026, 12, 4)).due_date == date(2027, 1, 15)
