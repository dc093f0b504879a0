"""Proration to the second for a plan change inside a period.

An upgrade at instant `t` credits the unused part of the old fee, `old x (end - t) / length`,
and charges the new fee for the same remainder, `new x (end - t) / length`; both precise,
rounded once each when booked. A downgrade takes effect at the period end, so nothing is
prorated for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tollhouse.billing.periods import Period
from tollhouse.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Proration:
    fraction: Decimal  # unused share of the period: seconds left / seconds in the period
    credit: Decimal  # negative: the old fee's unused part
    charge: Decimal  # the new fee's remaining part


def remaining_fraction(period: Period, at: datetime) -> Decimal:
    if not period.start <= at < period.end:
        raise InvalidInput(f"{at.isoformat()} is not inside the period")
    left = (period.end - at).total_seconds()
    return Decimal(int(left)) / Decimal(period.seconds)


def prorate_upgrade(period: Period, at: datetime, old_fee: Decimal, new_fee: Decimal) -> Proration:
    fraction = remaining_fraction(period, at)
    return Proration(fraction, -(old_fee * fraction), new_fee * fraction)
