from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tollhouse.access.plans import default_plans, parse_plan_book
from tollhouse.billing.errors import NoPriceInForce, OverlappingPrices
from tollhouse.billing.prices import (
    PriceBook,
    default_price_book,
    parse_price_book,
    price_from_dict,
)
from tollhouse.errors import InvalidInput

T = datetime


def test_effective_dates_are_inclusive_then_exclusive() -> None:
    old = price_from_dict(
        "pro", {"starting_at": "2025-01-01T00:00:00Z", "ending_before": "2026-01-01T00:00:00Z",
                "monthly_fee": "5000"}
    )  # fmt: skip
    new = price_from_dict("pro", {"starting_at": "2026-01-01T00:00:00Z", "monthly_fee": "6000"})
    book = PriceBook((old, new))
    assert book.in_force("pro", T(2025, 12, 31, 23, 59, 59, tzinfo=UTC)).monthly_fee == 5000
    assert book.in_force("pro", T(2026, 1, 1, tzinfo=UTC)).monthly_fee == 6000
    with pytest.raises(NoPriceInForce):
        book.in_force("pro", T(2024, 12, 31, tzinfo=UTC))


def test_overlapping_versions_are_refused() -> None:
    a = price_from_dict("pro", {"starting_at": "2025-01-01", "ending_before": "2025-07-01"})
    b = price_from_dict("pro", {"starting_at": "2025-06-30"})
    with pytest.raises(OverlappingPrices):
        PriceBook((a, b))
    open_ended = price_from_dict("pro", {"starting_at": "2025-01-01"})
    with pytest.raises(OverlappingPrices):
        PriceBook((open_ended, b))


@pytest.mark.parametrize(
    "raw",
    [
        {"starting_at": "2025-01-01", "monthly_fee": "-5"},
        {"starting_at": "2025-01-01", "monthly_fee": 5.0},
        {"starting_at": "2025-01-01", "currency": "ZZZ"},
        {"starting_at": "not a date"},
        {"monthly_fee": "5"},
        {"starting_at": "2025-02-01", "ending_before": "2025-01-01"},
        {"starting_at": "2025-01-01", "colour": "red"},
    ],
)
def test_bad_price_tables_are_refused(raw: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        price_from_dict("pro", raw)


def test_shipped_book_prices_every_default_plan_and_access_ignores_them() -> None:
    book = default_price_book()
    plans = {p.name for p in default_plans()}
    now = T(2026, 6, 1, tzinfo=UTC)
    for plan in plans:
        book.in_force(plan, now)
    assert book.in_force("basic", now).monthly_fee == Decimal(200)
    assert book.in_force("pro", now).monthly_fee == Decimal(5000)
    assert book.in_force("enterprise", now).overage is not None
    assert book.in_force("pay_per_use", now).pay_per_use


def test_price_sub_table_is_billings_alone() -> None:
    text = """
[plans.x]
monthly_fee = "1"
max_apps = 1
endpoints = ["/2/tweets"]
[[plans.x.prices]]
starting_at = 2025-01-01T00:00:00Z
monthly_fee = "99"
"""
    assert parse_plan_book(text)[0].name == "x"
    assert parse_price_book(text).in_force("x", T(2025, 5, 1, tzinfo=UTC)).monthly_fee == 99
