"""Delta booking: rate the period cumulatively, subtract what is booked, book the rest.

A line is keyed stably (component, tier, service period), so a second run with the same usage
books nothing and a run after more usage books only the difference. The booked amount of a key
is always `round(cumulative precise amount)`, however many runs it took: each delta's rounded
amount is that minus what is already booked, so rounding happens once per line, not per run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from tollhouse.billing.money import quantize


@dataclass(frozen=True, slots=True)
class RatedLine:
    """What a key comes to, cumulatively, for its service period."""

    key: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    precise: Decimal


@dataclass(frozen=True, slots=True)
class Booked:
    quantity: Decimal
    amount: Decimal  # rounded
    precise: Decimal
    description: str = ""


@dataclass(frozen=True, slots=True)
class DeltaLine:
    key: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal  # rounded
    precise: Decimal


def deltas(
    rated: Iterable[RatedLine], booked: Mapping[str, Booked], currency: str
) -> list[DeltaLine]:
    """The lines to book so that booked == rated; a key rated no more (a volume tier left
    behind) is reversed in full. Keys in a stable order: rated order, then reversals."""
    out: list[DeltaLine] = []
    seen = set()
    for line in rated:
        seen.add(line.key)
        have = booked.get(line.key, Booked(Decimal(0), Decimal(0), Decimal(0)))
        amount = quantize(line.precise, currency) - have.amount
        quantity = line.quantity - have.quantity
        if amount == 0 and quantity == 0:
            continue
        out.append(
            DeltaLine(
                line.key, line.description, quantity, line.unit_price, amount,
                line.precise - have.precise,
            )
        )  # fmt: skip
    for key in sorted(set(booked) - seen):
        have = booked[key]
        if have.amount == 0 and have.quantity == 0:
            continue
        out.append(
            DeltaLine(
                key, f"reversal: {have.description or key}", -have.quantity, Decimal(0),
                -have.amount, -have.precise,
            )
        )  # fmt: skip
    return out
