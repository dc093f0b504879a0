from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tollhouse.billing.errors import InvalidAmount, UnknownCurrency
from tollhouse.billing.money import Money, currency_exponent, parse_amount, quantize
from tollhouse.errors import InvalidInput


def test_exponents_follow_iso_4217() -> None:
    assert currency_exponent("USD") == 2
    assert currency_exponent("JPY") == 0
    assert currency_exponent("KWD") == 3
    with pytest.raises(UnknownCurrency):
        currency_exponent("XYZ")


def test_rounding_is_half_up_to_the_minor_unit() -> None:
    assert quantize(Decimal("0.005"), "USD") == Decimal("0.01")
    assert quantize(Decimal("0.0049"), "USD") == Decimal("0.00")
    assert quantize(Decimal("12.5"), "JPY") == Decimal("13")
    assert quantize(Decimal("1.0005"), "KWD") == Decimal("1.001")


@pytest.mark.parametrize("bad", [0.1, 1.0, True, float("nan")])
def test_a_float_never_becomes_an_amount(bad: object) -> None:
    with pytest.raises(InvalidAmount, match="float"):
        Money.of(bad)


@pytest.mark.parametrize("bad", ["-1", "abc", "NaN", "Infinity", "", None, [1]])
def test_bad_amounts_are_refused_clearly(bad: object) -> None:
    with pytest.raises(InvalidInput):
        parse_amount(bad)


def test_money_keeps_precision_and_rounds_only_when_shown() -> None:
    m = Money.of("0.0049", "USD") + Money.of("0.0049", "USD")
    assert m.amount == Decimal("0.0098")
    assert m.rounded == Decimal("0.01")
    with pytest.raises(InvalidAmount):
        _ = Money.of("1", "USD") + Money.of("1", "EUR")
    with pytest.raises(UnknownCurrency):
        Money.of("1", "ABC")


@given(st.lists(st.decimals(min_value=0, max_value=10**9, places=6), max_size=30))
def test_rounding_once_per_line_sums_to_the_total_of_rounded_lines(values: list[Decimal]) -> None:
    lines = [quantize(v, "USD") for v in values]
    total = sum(lines, Decimal(0))
    assert total == quantize(total, "USD")  # the total of rounded lines needs no rounding
    assert abs(total - sum(values, Decimal(0))) <= Decimal("0.005") * len(values)
