"""Golden tier arithmetic from the anchors' documented examples, and properties."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tollhouse.billing.charges import (
    GraduatedCharge,
    PackageCharge,
    StandardCharge,
    Tier,
    VolumeCharge,
    charge_from_dict,
    charge_to_dict,
    total,
)
from tollhouse.billing.errors import InvalidAmount

D = Decimal

# Lago's graduated example: $1 per unit for the first 100, $0.50 for the next 100, $0.10 after.
LAGO_GRADUATED = GraduatedCharge(
    (Tier(D(0), D(100), D(1)), Tier(D(100), D(200), D("0.5")), Tier(D(200), None, D("0.1")))
)
# Lago's volume example: 65 000 API calls → 65 000 x $0.0006 + $10 = $49.
LAGO_VOLUME = VolumeCharge(
    (
        Tier(D(0), D(10_000), D("0.0010"), D(10)),
        Tier(D(10_000), D(50_000), D("0.0008"), D(10)),
        Tier(D(50_000), D(100_000), D("0.0006"), D(10)),
        Tier(D(100_000), None, D("0.0004"), D(10)),
    )
)


def test_lago_graduated_golden() -> None:
    assert total(LAGO_GRADUATED, 100) == D(100)
    assert total(LAGO_GRADUATED, 150) == D(125)
    assert total(LAGO_GRADUATED, 250) == D(155)
    assert total(LAGO_GRADUATED, 0) == 0
    parts = LAGO_GRADUATED.parts(D(250))
    assert [(p.key, p.quantity) for p in parts] == [
        ("tier1", D(100)),
        ("tier2", D(100)),
        ("tier3", D(50)),
    ]


def test_lago_volume_golden() -> None:
    assert total(LAGO_VOLUME, 65_000) == D(49)
    # Half-open tiers on the quantity line: a total of exactly 10 000 is tier 2's …
    assert total(LAGO_VOLUME, 9_999) == D("9.999") + 10
    assert total(LAGO_VOLUME, 10_000) == D(18)
    # … and a fractional total lands in exactly one tier (no gap as with inclusive integers).
    assert total(LAGO_VOLUME, "10000.5") == D("10000.5") * D("0.0008") + 10
    assert total(LAGO_VOLUME, 0) == 0  # no flat fee at zero


def test_package_golden() -> None:
    # $5 per started 100 units after 100 free units.
    charge = PackageCharge(size=100, amount=D(5), free_units=100)
    assert total(charge, 100) == 0
    assert total(charge, 101) == 5
    assert total(charge, 200) == 5
    assert total(charge, 201) == 10


def test_x_rebate_table_rated_cumulatively_then_booked_as_deltas() -> None:
    """X's xAI rebate (pricing.mdx): 0/10/15/20 % at $0/$200/$500/$1,000 of spend, applied to
    the whole cumulative spend; $1,000 in any split comes to $200."""
    rebate = VolumeCharge(
        (
            Tier(D(0), D(200), D(0)),
            Tier(D(200), D(500), D("0.10")),
            Tier(D(500), D(1000), D("0.15")),
            Tier(D(1000), None, D("0.20")),
        )
    )
    for split in ([D(1000)], [D(300), D(700)], [D(100)] * 10, [D(999), D(1)]):
        cumulative, booked = D(0), D(0)
        for spend in split:
            cumulative += spend
            booked += total(rebate, cumulative) - booked
        assert booked == D(200)


def test_standard_per_thousand() -> None:
    assert total(StandardCharge(D("0.50"), per=1000), 1_234_567) == D("617.2835")


def test_tiers_must_be_contiguous_and_open_ended() -> None:
    with pytest.raises(InvalidAmount):
        GraduatedCharge((Tier(D(0), D(10), D(1)), Tier(D(11), None, D(1))))
    with pytest.raises(InvalidAmount):
        VolumeCharge((Tier(D(0), D(10), D(1)),))
    with pytest.raises(InvalidAmount):
        charge_from_dict({"model": "standard", "unit_price": 0.5}, "x")
    with pytest.raises(InvalidAmount):
        charge_from_dict({"model": "magic"}, "x")


def test_round_trip_through_dict() -> None:
    for c in (LAGO_GRADUATED, LAGO_VOLUME, PackageCharge(10, D(2), 3), StandardCharge(D(1), 1000)):
        assert charge_from_dict(charge_to_dict(c), "x") == c


quantities = st.decimals(min_value=0, max_value=10**7, places=0)


@given(quantities, quantities)
def test_graduated_is_additive_over_increments(a: Decimal, b: Decimal) -> None:
    lo, hi = sorted((a, b))
    parts_hi = {p.key: p.quantity for p in LAGO_GRADUATED.parts(hi)}
    assert sum(parts_hi.values(), D(0)) == hi
    assert total(LAGO_GRADUATED, hi) >= total(LAGO_GRADUATED, lo)


@given(quantities)
def test_volume_charges_every_unit_at_one_tier(q: Decimal) -> None:
    parts = LAGO_VOLUME.parts(q)
    assert len(parts) == (1 if q > 0 else 0)
    if parts:
        assert parts[0].quantity == q
