"""Charge models: how a quantity of units becomes an amount.

Tier bounds are half-open on the quantity line: a tier `[first, last)` holds the part of the
interval `[0, quantity)` that falls inside it, so tier `[0, 100)` holds the first 100 units and
tier `[100, ∞)` the rest, with no gap for a fractional total (Lago's inclusive integer ranges
match nothing at 100.5). Graduated charges each tier's share at its price; volume charges the
whole quantity at the price of the tier that holds the total (`first ≤ quantity < last`), as
X's rebate table applies 20 % to a spend of exactly $1,000.
Each model returns `ChargePart`s — one per tier that has units — so a rating run can book and
re-book them as separate lines (a volume repricing reverses the old tier's line and books the
new one). Amounts are precise; rounding happens once, per booked line.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tollhouse.billing.errors import InvalidAmount
from tollhouse.billing.money import parse_amount, parse_decimal


@dataclass(frozen=True, slots=True)
class ChargePart:
    """One line's worth of a charge: `quantity` units at `unit_price` per `per` units, plus a
    flat fee. `key` names the part stably across runs (e.g. "tier1")."""

    key: str
    quantity: Decimal
    unit_price: Decimal
    per: int
    flat_fee: Decimal = Decimal(0)

    @property
    def amount(self) -> Decimal:
        return self.quantity * self.unit_price / self.per + self.flat_fee


@dataclass(frozen=True, slots=True)
class Tier:
    first: Decimal
    last: Decimal | None  # None: no upper bound
    unit_price: Decimal
    flat_fee: Decimal = Decimal(0)


def _check_tiers(tiers: Sequence[Tier]) -> None:
    if not tiers:
        raise InvalidAmount("a tiered charge needs at least one tier")
    if tiers[0].first != 0:
        raise InvalidAmount("the first tier must start at 0")
    for a, b in itertools.pairwise(tiers):
        if a.last is None or a.last != b.first:
            raise InvalidAmount("tiers must be contiguous: each starts where the previous ends")
    for t in tiers:
        if t.last is not None and t.last <= t.first:
            raise InvalidAmount("a tier must end after it starts")
    if tiers[-1].last is not None:
        raise InvalidAmount("the last tier must have no upper bound")


@dataclass(frozen=True, slots=True)
class StandardCharge:
    """`unit_price` per `per` units (e.g. $0.50 per 1 000 posts)."""

    unit_price: Decimal
    per: int = 1

    def parts(self, quantity: Decimal) -> list[ChargePart]:
        if quantity == 0:
            return []
        return [ChargePart("unit", quantity, self.unit_price, self.per)]


@dataclass(frozen=True, slots=True)
class GraduatedCharge:
    """Each tier's units at that tier's price; a tier's flat fee once it has any units."""

    tiers: tuple[Tier, ...]
    per: int = 1

    def __post_init__(self) -> None:
        _check_tiers(self.tiers)

    def parts(self, quantity: Decimal) -> list[ChargePart]:
        out = []
        for i, t in enumerate(self.tiers, start=1):
            top = quantity if t.last is None else min(quantity, t.last)
            units = top - t.first
            if units > 0:
                out.append(ChargePart(f"tier{i}", units, t.unit_price, self.per, t.flat_fee))
        return out


@dataclass(frozen=True, slots=True)
class VolumeCharge:
    """The whole quantity at the price of the tier holding the total, plus that tier's flat
    fee; nothing at zero."""

    tiers: tuple[Tier, ...]
    per: int = 1

    def __post_init__(self) -> None:
        _check_tiers(self.tiers)

    def parts(self, quantity: Decimal) -> list[ChargePart]:
        if quantity <= 0:
            return []
        for i, t in enumerate(self.tiers, start=1):
            if t.last is None or quantity < t.last:
                return [ChargePart(f"tier{i}", quantity, t.unit_price, self.per, t.flat_fee)]
        raise AssertionError("the last tier is unbounded")  # pragma: no cover


@dataclass(frozen=True, slots=True)
class PackageCharge:
    """`amount` per started package of `size` units, after `free_units`."""

    size: int
    amount: Decimal
    free_units: int = 0

    def parts(self, quantity: Decimal) -> list[ChargePart]:
        billable = quantity - self.free_units
        if billable <= 0:
            return []
        packages = Decimal(math.ceil(billable / self.size))
        return [ChargePart("package", packages, self.amount, 1)]


Charge = StandardCharge | GraduatedCharge | VolumeCharge | PackageCharge


def _tiers(raw: Any, where: str) -> tuple[Tier, ...]:
    if not isinstance(raw, list) or not raw:
        raise InvalidAmount(f"{where}: tiers must be a non-empty list")
    out = []
    for entry in raw:
        if not isinstance(entry, Mapping):
            raise InvalidAmount(f"{where}: each tier is a table (first, last, unit_price)")
        last = entry.get("last")
        out.append(
            Tier(
                first=parse_amount(entry.get("first", 0), f"{where} tier first"),
                last=None if last is None else parse_amount(last, f"{where} tier last"),
                unit_price=parse_amount(entry["unit_price"], f"{where} tier unit_price"),
                flat_fee=parse_amount(entry.get("flat_fee", "0"), f"{where} tier flat_fee"),
            )
        )
    return tuple(out)


def _per(raw: Mapping[str, Any], where: str) -> int:
    per = raw.get("per", 1)
    if isinstance(per, bool) or not isinstance(per, int) or per < 1:
        raise InvalidAmount(f"{where}: per must be a whole number ≥ 1")
    return per


def charge_from_dict(raw: Mapping[str, Any], where: str) -> Charge:
    """A charge from its table: `model` standard | graduated | volume | package."""
    model = raw.get("model")
    if model == "standard":
        return StandardCharge(
            parse_amount(raw["unit_price"], f"{where} unit_price"), _per(raw, where)
        )
    if model == "graduated":
        return GraduatedCharge(_tiers(raw.get("tiers"), where), _per(raw, where))
    if model == "volume":
        return VolumeCharge(_tiers(raw.get("tiers"), where), _per(raw, where))
    if model == "package":
        size = raw.get("size")
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise InvalidAmount(f"{where}: package size must be a whole number ≥ 1")
        free = raw.get("free_units", 0)
        if isinstance(free, bool) or not isinstance(free, int) or free < 0:
            raise InvalidAmount(f"{where}: free_units must be a whole number ≥ 0")
        return PackageCharge(size, parse_amount(raw["amount"], f"{where} amount"), free)
    raise InvalidAmount(f"{where}: model must be standard, graduated, volume or package")


def charge_to_dict(charge: Charge) -> dict[str, Any]:
    """The table `charge_from_dict` reads (amounts as strings)."""

    def tiers(ts: Sequence[Tier]) -> list[dict[str, Any]]:
        return [
            {
                "first": str(t.first),
                "last": None if t.last is None else str(t.last),
                "unit_price": str(t.unit_price),
                "flat_fee": str(t.flat_fee),
            }
            for t in ts
        ]

    if isinstance(charge, StandardCharge):
        return {"model": "standard", "unit_price": str(charge.unit_price), "per": charge.per}
    if isinstance(charge, GraduatedCharge):
        return {"model": "graduated", "tiers": tiers(charge.tiers), "per": charge.per}
    if isinstance(charge, VolumeCharge):
        return {"model": "volume", "tiers": tiers(charge.tiers), "per": charge.per}
    return {
        "model": "package",
        "size": charge.size,
        "amount": str(charge.amount),
        "free_units": charge.free_units,
    }


def total(charge: Charge, quantity: Any) -> Decimal:
    """The precise amount of `quantity` units."""
    q = parse_decimal(quantity, "quantity")
    return sum((p.amount for p in charge.parts(q)), Decimal(0))
