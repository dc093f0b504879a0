"""Rating runs, invoices, payments and credits on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest

from tests.billing.conftest import World, event, utc
from tollhouse.billing.errors import (
    InvalidAmount,
    InvalidTransition,
    PlanChangeBeforeFinalized,
    UnknownCurrency,
)
from tollhouse.errors import Conflict, InvalidInput

D = Decimal
MARCH = (utc(2026, 3, 1), utc(2026, 4, 1))


def march_invoice(world: World, org: str = "acme") -> dict:  # type: ignore[type-arg]
    [inv] = [v for v in world.billing.invoices(org) if v.period_start == MARCH[0]]
    return inv.to_dict()


def test_a_period_rated_into_a_draft_then_finalized_with_a_number(world: World) -> None:
    org = world.org("acme", "enterprise")
    world.billing.start("acme", utc(2026, 3, 1), "tests")
    world.use(
        event(org, utc(2026, 3, 2, 12), posts=40_000_000),
        event(org, utc(2026, 3, 31, 23, 59, 59), posts=12_345_678),
        event(org, utc(2026, 4, 1, 0, 0, 0), posts=999),  # April's (Lago #4082)
        event(org, utc(2026, 3, 3), posts=77, status=429),  # refused: never billed
    )
    summary = world.billing.run(as_of=utc(2026, 4, 1, 1))
    assert summary.rated_periods == 1
    inv = march_invoice(world)
    assert inv["status"] == "draft" and inv["number"] is None
    by = {line["description"].split(" (")[0]: line for line in inv["lines"]}
    fee = by["enterprise monthly fee"]
    assert fee["amount"] == "42000.00" and fee["quantity"] == "1"
    [overage] = [line for line in inv["lines"] if "over" in line["description"]]
    assert overage["quantity"] == "2345678"  # 52 345 678 - 50 000 000 included
    assert D(overage["amount"]) == D("1172.84")  # 2 345 678 x $0.50 / 1 000, rounded once
    assert inv["subtotal"] == inv["total"] == "43172.84"
    assert sum(D(line["amount"]) for line in inv["lines"]) == D(inv["subtotal"])
    assert inv["usage"][0]["posts"] == 52_345_678

    # The same inputs give the same lines; within the grace the draft stays a draft.
    again = world.billing.run(as_of=utc(2026, 4, 1, 2))
    assert again.lines_booked == 0
    assert march_invoice(world)["lines"] == inv["lines"]
    world.billing.run(as_of=utc(2026, 4, 2, 0, 0, 1))
    final = march_invoice(world)
    assert final["status"] == "finalized" and final["number"] == 1


def test_late_usage_after_finalization_becomes_one_correction_line(world: World) -> None:
    org = world.org("acme", "enterprise")
    world.billing.start("acme", utc(2026, 3, 1), "tests")
    world.use(event(org, utc(2026, 3, 10), posts=51_000_000))
    world.billing.run(as_of=utc(2026, 4, 3))
    march = march_invoice(world)
    assert march["status"] == "finalized"

    late = event(org, utc(2026, 3, 30), posts=20_000, request_id="late-1")
    assert world.use(late) == 1
    world.billing.run(as_of=utc(2026, 4, 5))
    assert march_invoice(world) == march  # a finalized invoice is never edited
    [april] = [v.to_dict() for v in world.billing.invoices("acme") if v.period_start.month == 4]
    [correction] = april["lines"]
    assert correction["corrects"] == march["id"]
    assert correction["service_period_start"] == MARCH[0].isoformat()
    assert "correction for 2026-03-01" in correction["description"]
    assert correction["quantity"] == "20000" and correction["amount"] == "10.00"

    # Re-running adds nothing; the same request replayed is not stored twice.
    assert world.billing.run(as_of=utc(2026, 4, 6)).lines_booked == 0
    assert world.use(late) == 0
    world.billing.run(as_of=utc(2026, 4, 7))
    [april2] = [v.to_dict() for v in world.billing.invoices("acme") if v.period_start.month == 4]
    assert april2["lines"] == april["lines"]


def test_mid_period_upgrade_at_an_exact_instant(world: World) -> None:
    org = world.org("acme", "pro")
    world.billing.start("acme", utc(2026, 3, 1), "tests")
    at = utc(2026, 3, 15, 10, 17, 3)
    world.use(
        event(org, at - timedelta(microseconds=1), posts=600_000),  # Pro's
        event(org, at, posts=50_000_000),  # Enterprise's: carries Pro's 600 000 across
        event(org, utc(2026, 3, 20), posts=1_000_000),
    )
    world.clock.at = at
    world.billing.change_plan("acme", "enterprise", "upgrade", "tests", at=at)
    assert world.access.show_org("acme").plan == "enterprise"
    world.billing.run(as_of=utc(2026, 4, 1, 1))
    inv = march_invoice(world)
    lines = {line["description"].split(" from")[0].split(" (")[0]: line for line in inv["lines"]}
    seconds_left = int((MARCH[1] - at).total_seconds())
    fraction = D(seconds_left) / D(31 * 86400)
    assert D(lines["pro monthly fee"]["amount"]) == D(5000)
    assert D(lines["unused pro fee"]["amount"]) == (-D(5000) * fraction).quantize(D("0.01"))
    assert D(lines["enterprise monthly fee"]["amount"]) == (D(42000) * fraction).quantize(D("0.01"))
    [over] = [line for line in inv["lines"] if "over" in line["description"]]
    # 600 000 + 51 000 000 posts in the period; Enterprise includes 50 M.
    assert over["quantity"] == "1600000"
    posts = [u["posts"] for u in inv["usage"]]
    assert posts == [600_000, 51_000_000]  # split at the instant: none in both, none in neither


def test_downgrade_waits_for_the_period_end(world: World) -> None:
    world.org("acme", "enterprise")
    world.billing.start("acme", utc(2026, 3, 1), "tests")
    change = world.billing.change_plan("acme", "pro", "downgrade", "tests", at=utc(2026, 3, 15, 10))
    assert change["effective_at"] == MARCH[1].isoformat()
    assert world.access.show_org("acme").plan == "enterprise"
    world.billing.run(as_of=utc(2026, 4, 1, 1))
    assert world.access.show_org("acme").plan == "pro"
    inv = march_invoice(world)
    assert [line["amount"] for line in inv["lines"]] == ["42000.00"]


def test_plan_change_before_the_last_finalized_invoice_is_refused(world: World) -> None:
    world.org("acme", "pro")
    world.billing.start("acme", utc(2026, 3, 1), "tests")
    world.billing.run(as_of=utc(2026, 4, 3))
    with pytest.raises(PlanChangeBeforeFinalized):
        world.billing.change_plan("acme", "enterprise", "upgrade", "tests", at=utc(2026, 3, 20))
    assert world.access.show_org("acme").plan == "pro"


def test_los_angeles_periods_and_the_utc_dedupe_day(world: World) -> None:
    org = world.org("acme", "pay_per_use")
    world.billing.set_time_zone("acme", "America/Los_Angeles", "tests")
    world.billing.start("acme", utc(2026, 2, 1, 8), "tests")
    world.use(
        event(org, utc(2026, 3, 1, 7, 30), posts=100),  # Feb 28 in Los Angeles
        event(org, utc(2026, 3, 1, 8, 0), posts=10),  # March 1 in Los Angeles
        event(org, utc(2026, 3, 2), endpoint="/2/users/:id"),
    )
    world.billing.run(as_of=utc(2026, 4, 1, 7))
    invs = {v.period_start: v.to_dict() for v in world.billing.invoices("acme")}
    feb, mar = invs[utc(2026, 2, 1, 8)], invs[utc(2026, 3, 1, 8)]
    assert feb["period_end"] == utc(2026, 3, 1, 8).isoformat()
    assert [(x["quantity"], x["amount"]) for x in feb["lines"]] == [("100", "0.50")]
    assert mar["period_end"] == utc(2026, 4, 1, 7).isoformat()  # after the DST change
    assert [(x["quantity"], x["amount"]) for x in mar["lines"]] == [("10", "0.05"), ("1", "0.01")]


def test_payments_make_paid_and_overdue(world: World) -> None:
    world.org("acme", "basic")
    world.billing.start("acme", utc(2026, 3, 1), "tests")
    world.clock.at = utc(2026, 4, 3)
    world.billing.run()
    inv = march_invoice(world)
    assert inv["total"] == "200.00" and inv["status"] == "finalized"
    world.clock.at = utc(2026, 5, 10)
    assert march_invoice(world)["status"] == "overdue"
    with pytest.raises(InvalidAmount):
        world.billing.record_payment(inv["id"], "-5", "tests")
    with pytest.raises(InvalidAmount):
        world.billing.record_payment(inv["id"], "abc", "tests")
    with pytest.raises(InvalidAmount):
        world.billing.record_payment(inv["id"], 100.0, "tests")
    p = world.billing.record_payment(inv["id"], "150", "tests", reference="wire-1")
    assert p.invoice_status == "finalized"
    csv_text = (
        f"invoice_id,amount,paid_at,reference\n{inv['id']},50.00,2026-05-11T00:00:00Z,wire-2\n"
    )
    world.billing.import_payments(io.StringIO(csv_text), "tests")
    world.billing.import_payments(io.StringIO(csv_text), "tests")  # twice: recorded once
    assert march_invoice(world)["status"] == "paid"
    assert march_invoice(world)["paid"] == "200.00"

    voided = world.billing.void(inv["id"], "billed in error", "tests").to_dict()
    assert voided["status"] == "void"
    with pytest.raises(InvalidTransition):
        world.billing.record_payment(inv["id"], "1", "tests")


def test_voiding_a_draft_is_refused(world: World) -> None:
    world.org("acme", "basic")
    world.billing.start("acme", utc(2026, 3, 1), "tests")
    world.billing.run(as_of=utc(2026, 4, 1, 1))
    inv = march_invoice(world)
    with pytest.raises(InvalidTransition):
        world.billing.void(inv["id"], "no", "tests")
    with pytest.raises(InvalidTransition):
        world.billing.record_payment(inv["id"], "1", "tests")
    assert march_invoice(world) == inv


def test_credits_burn_by_priority_then_expiry_then_age(world: World) -> None:
    world.org("acme", "basic")
    world.billing.start("acme", utc(2026, 3, 1), "tests")
    b = world.billing
    late = b.grant("acme", "100", "tests", priority=5, expires_at=utc(2026, 12, 1))
    soon = b.grant("acme", "30", "tests", priority=5, expires_at=utc(2026, 6, 1))
    first = b.grant("acme", "50", "tests", priority=1)
    unused = b.grant("acme", "999", "tests", priority=9)
    b.grant("acme", "7", "tests", priority=0, expires_at=utc(2026, 3, 2))  # expired by April
    with pytest.raises(InvalidAmount):
        b.grant("acme", "-1", "tests")
    with pytest.raises(UnknownCurrency):
        b.grant("acme", "1", "tests", currency="ABC")
    with pytest.raises(InvalidInput):
        b.grant("acme", "1", "tests", expires_at=utc(2020, 1, 1))
    world.clock.at = utc(2026, 4, 3)
    b.run()
    inv = march_invoice(world)
    assert inv["credits_applied"] == "200.00" and inv["total"] == "0.00"
    assert inv["status"] == "paid"
    left = {g.id: g.remaining for g in b.balance("acme").grants}
    # 50 (priority 1) + 30 (priority 5, expires first) + 100 (priority 5) + 20 of priority 9.
    assert first.id not in left and soon.id not in left and late.id not in left
    assert left[unused.id] == D(979)


def test_overlapping_price_periods_are_refused_and_change_nothing(world: World) -> None:
    from tollhouse.billing.prices import price_from_dict

    book = world.billing.price_book()
    before = len(book.versions)
    clash = price_from_dict("pro", {"starting_at": "2026-01-01T00:00:00Z", "monthly_fee": "1"})
    with pytest.raises(InvalidInput):
        world.billing.load_prices([clash], "tests")
    assert len(world.billing.price_book().versions) == before
    changed = price_from_dict(
        "pro", {"starting_at": "2023-01-01T00:00:00Z", "monthly_fee": "1", "included_posts": 1}
    )
    with pytest.raises(Conflict):
        world.billing.load_prices([changed], "tests")


def test_back_billing_at_a_named_plans_list_price(world: World) -> None:
    org = world.org("acme", "basic")
    world.billing.start("acme", utc(2026, 1, 1), "tests")
    world.use(event(org, utc(2026, 2, 10), posts=60_000_000))
    world.clock.at = utc(2026, 4, 3)
    world.billing.run()
    for inv in world.billing.invoices("acme"):
        world.billing.record_payment(inv.id, str(inv.total), "tests")
    result = world.billing.backbill(
        "acme", utc(2026, 1, 1).date(), utc(2026, 4, 1).date(), "enterprise"
    ).to_dict()
    # Enterprise list price: 3 x $42 000 fee + 10 M posts over 50 M at $0.50 per 1 000.
    assert result["rated"] == "131000.00"
    assert result["invoiced"] == result["paid"] == "600.00"
    assert result["underpayment"] == "130400.00"
    assert result["audit_cost_due"] is True
    assert [line["rated"] for line in result["lines"]] == ["42000.00", "47000.00", "42000.00"]


def test_an_unpriced_plan_is_skipped_and_named_not_fatal(world: World) -> None:
    import dataclasses

    from tollhouse.access.plans import default_plans

    custom = dataclasses.replace(next(p for p in default_plans() if p.name == "pro"), name="custom")
    world.access.load_plans([custom], "tests")
    world.org("acme", "basic")
    world.org("odd", "custom")
    world.billing.start("acme", utc(2026, 3, 1), "tests")
    world.billing.start("odd", utc(2026, 3, 1), "tests")
    summary = world.billing.run(as_of=utc(2026, 4, 3))
    assert [v.org for v in world.billing.invoices()] == ["acme"]
    assert len(summary.skipped) == 1 and summary.skipped[0].startswith("odd: plan 'custom'")
