from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from tollhouse.billing.charges import GraduatedCharge, Tier, VolumeCharge
from tollhouse.billing.deltas import Booked, DeltaLine, RatedLine, deltas
from tollhouse.billing.money import quantize

D = Decimal
VOLUME = VolumeCharge((Tier(D(0), D(16), D(10)), Tier(D(16), None, D(5))))
GRADUATED = GraduatedCharge(
    (Tier(D(0), D(1000), D("0.0033")), Tier(D(1000), None, D("0.00171"), D("0.7")))
)


def rate(charge: VolumeCharge | GraduatedCharge, q: Decimal) -> list[RatedLine]:
    return [RatedLine(p.key, p.key, p.quantity, p.unit_price, p.amount) for p in charge.parts(q)]


def book(booked: dict[str, Booked], lines: list[DeltaLine]) -> None:
    for line in lines:
        have = booked.get(line.key, Booked(D(0), D(0), D(0)))
        booked[line.key] = Booked(
            have.quantity + line.quantity, have.amount + line.amount, have.precise + line.precise
        )


def test_volume_repricing_reverses_and_rebooks() -> None:
    booked: dict[str, Booked] = {}
    book(booked, deltas(rate(VOLUME, D(15)), booked, "USD"))
    assert booked["tier1"].amount == D(150)
    second = deltas(rate(VOLUME, D(16)), booked, "USD")
    assert [(d.key, d.quantity, d.amount) for d in second] == [
        ("tier2", D(16), D(80)),
        ("tier1", D(-15), D(-150)),
    ]
    book(booked, second)
    assert deltas(rate(VOLUME, D(16)), booked, "USD") == []  # re-running adds nothing


@given(st.lists(st.integers(0, 5000), min_size=1, max_size=8))
def test_one_run_equals_k_runs_of_deltas(increments: list[int]) -> None:
    for charge in (VOLUME, GRADUATED):
        booked: dict[str, Booked] = {}
        q = D(0)
        for inc in increments:
            q += inc
            book(booked, deltas(rate(charge, q), booked, "USD"))
        once: dict[str, Booked] = {}
        book(once, deltas(rate(charge, q), once, "USD"))
        total_k = sum((b.amount for b in booked.values()), D(0))
        total_1 = sum((b.amount for b in once.values()), D(0))
        assert total_k == total_1
        # Each key's booked amount is its cumulative amount rounded once.
        for line in rate(charge, q):
            assert booked[line.key].amount == quantize(line.precise, "USD")
