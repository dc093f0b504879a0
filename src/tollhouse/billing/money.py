"""Money: a `Decimal` amount in an ISO 4217 currency, rounded to the currency's exponent only
when a line is booked, with the precise amount kept beside it.

A float never becomes an amount: `0.1` has no exact binary form, so `Money.of(0.1)` is refused
rather than silently made `0.1000000000000000055511151231257827`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from tollhouse.billing.errors import InvalidAmount, UnknownCurrency

# ISO 4217 minor-unit exponents of the currencies a licensee is likely to be billed in; a code
# not listed is refused instead of guessed at two decimals.
EXPONENTS: dict[str, int] = {
    "USD": 2, "EUR": 2, "GBP": 2, "CHF": 2, "CAD": 2, "AUD": 2, "NZD": 2, "SEK": 2, "NOK": 2,
    "DKK": 2, "PLN": 2, "CZK": 2, "HUF": 2, "BRL": 2, "MXN": 2, "INR": 2, "CNY": 2, "HKD": 2,
    "SGD": 2, "ZAR": 2, "ILS": 2, "AED": 2, "SAR": 2, "TRY": 2, "JPY": 0, "KRW": 0, "CLP": 0,
    "ISK": 0, "VND": 0, "KWD": 3, "BHD": 3, "OMR": 3, "JOD": 3, "TND": 3,
}  # fmt: skip


def currency_exponent(code: str) -> int:
    """The number of minor-unit digits of `code` (2 for USD, 0 for JPY, 3 for KWD)."""
    try:
        return EXPONENTS[code]
    except KeyError:
        raise UnknownCurrency(f"unknown currency {code!r} (an ISO 4217 code such as USD)") from None


def parse_decimal(value: Any, what: str = "amount") -> Decimal:
    """A finite `Decimal` from a Decimal, int or decimal string; floats and bools are refused."""
    if isinstance(value, (bool, float)):
        raise InvalidAmount(f"{what} {value!r} must be a decimal string or integer, not a float")
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, str):
        try:
            amount = Decimal(value.strip().replace("_", ""))
        except InvalidOperation:
            raise InvalidAmount(f"{what} {value!r} is not a number") from None
    else:
        raise InvalidAmount(f"{what} {value!r} is not a number")
    if not amount.is_finite():
        raise InvalidAmount(f"{what} {value!r} is not a finite number")
    return amount


def parse_amount(value: Any, what: str = "amount") -> Decimal:
    """Like `parse_decimal`, and refuses a negative amount."""
    amount = parse_decimal(value, what)
    if amount < 0:
        raise InvalidAmount(f"{what} {value!r} must not be negative")
    return amount


def quantize(amount: Decimal, currency: str) -> Decimal:
    """`amount` rounded half up to the currency's minor unit (the once-per-line rounding)."""
    return amount.quantize(Decimal(1).scaleb(-currency_exponent(currency)), ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Money:
    """An amount of money. `amount` is precise (any number of digits); `rounded` is what a
    document shows."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise InvalidAmount(f"amount {self.amount!r} must be a Decimal")
        if not self.amount.is_finite():
            raise InvalidAmount(f"amount {self.amount!r} is not finite")
        currency_exponent(self.currency)

    @classmethod
    def of(cls, value: Any, currency: str = "USD") -> Money:
        return cls(parse_decimal(value), currency.upper() if isinstance(currency, str) else "")

    @property
    def rounded(self) -> Decimal:
        return quantize(self.amount, self.currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise InvalidAmount(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __str__(self) -> str:
        return f"{self.rounded} {self.currency}"
