"""Effective-dated prices: what a plan cost at any instant.

A plan's price has versions, each in force over `[starting_at, ending_before)` (`ending_before`
None: until further notice). Versions of one plan never overlap and are kept forever, so a past
period is always rated at the price then in force. The shipped book keeps them beside what the
plan allows, as `[[plans.NAME.prices]]` tables of `plans.toml` (access ignores that key).
"""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from importlib import resources
from typing import Any

from tollhouse.billing.charges import Charge, charge_from_dict, charge_to_dict
from tollhouse.billing.errors import InvalidAmount, NoPriceInForce, OverlappingPrices
from tollhouse.billing.money import currency_exponent, parse_amount
from tollhouse.errors import InvalidInput

PRICES_KEY = "prices"


@dataclass(frozen=True, slots=True)
class PriceVersion:
    """One plan's price over `[starting_at, ending_before)`.

    `monthly_fee` is charged in advance for the period (prorated on an upgrade);
    `included_posts` are free before `overage` applies to the rest; `per_request` prices one
    request of an endpoint template; `post_read` / `user_read` are pay-per-use unit prices,
    deducted from prepaid credits; `minimum_commitment` adds a true-up line up to it.
    """

    plan: str
    starting_at: datetime
    ending_before: datetime | None
    currency: str = "USD"
    monthly_fee: Decimal = Decimal(0)
    included_posts: int = 0
    overage: Charge | None = None
    per_request: Mapping[str, Decimal] = field(default_factory=dict)
    stream_fee: Decimal = Decimal(0)
    post_read: Decimal | None = None
    user_read: Decimal | None = None
    minimum_commitment: Decimal | None = None

    @property
    def pay_per_use(self) -> bool:
        return self.post_read is not None or self.user_read is not None

    def covers(self, instant: datetime) -> bool:
        return self.starting_at <= instant and (
            self.ending_before is None or instant < self.ending_before
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan": self.plan,
            "starting_at": self.starting_at.isoformat(),
            "ending_before": None if self.ending_before is None else self.ending_before.isoformat(),
            "currency": self.currency,
            "monthly_fee": str(self.monthly_fee),
            "included_posts": self.included_posts,
            "overage": None if self.overage is None else charge_to_dict(self.overage),
            "per_request": {k: str(v) for k, v in sorted(self.per_request.items())},
            "stream_fee": str(self.stream_fee),
            "post_read": None if self.post_read is None else str(self.post_read),
            "user_read": None if self.user_read is None else str(self.user_read),
            "minimum_commitment": (
                None if self.minimum_commitment is None else str(self.minimum_commitment)
            ),
        }


def parse_instant(value: Any, where: str) -> datetime:
    """A UTC-aware instant from a TOML datetime/date or an ISO 8601 string (no zone: UTC)."""
    if isinstance(value, datetime):
        instant = value
    elif isinstance(value, str):
        try:
            instant = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(f"{where}: {value!r} is not an ISO 8601 date-time") from None
    elif hasattr(value, "isoformat") and not isinstance(value, datetime):
        instant = datetime.fromisoformat(value.isoformat())
    else:
        raise InvalidInput(f"{where}: {value!r} is not a date-time")
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC)


def _optional_amount(raw: Mapping[str, Any], key: str, where: str) -> Decimal | None:
    return None if raw.get(key) is None else parse_amount(raw[key], f"{where} {key}")


_KNOWN = {
    "plan", "starting_at", "ending_before", "currency", "monthly_fee", "included_posts",
    "overage", "per_request", "stream_fee", "post_read", "user_read", "minimum_commitment",
}  # fmt: skip


def price_from_dict(plan: str, raw: Mapping[str, Any]) -> PriceVersion:
    """One price version from its table; a clear InvalidInput naming the field at fault."""
    where = f"plan {plan!r} price"
    unknown = set(raw) - _KNOWN
    if unknown:
        raise InvalidInput(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    if "starting_at" not in raw:
        raise InvalidInput(f"{where}: missing starting_at")
    starting = parse_instant(raw["starting_at"], f"{where} starting_at")
    ending = raw.get("ending_before")
    ending_at = None if ending is None else parse_instant(ending, f"{where} ending_before")
    if ending_at is not None and ending_at <= starting:
        raise InvalidInput(f"{where}: ending_before must be after starting_at")
    currency = str(raw.get("currency", "USD")).upper()
    currency_exponent(currency)
    included = raw.get("included_posts", 0)
    if isinstance(included, bool) or not isinstance(included, int) or included < 0:
        raise InvalidAmount(f"{where}: included_posts must be a whole number ≥ 0")
    per_request_raw = raw.get("per_request", {})
    if not isinstance(per_request_raw, Mapping):
        raise InvalidInput(f"{where}: per_request must be a table of endpoint = price")
    overage = raw.get("overage")
    if overage is not None and not isinstance(overage, Mapping):
        raise InvalidInput(f"{where}: overage must be a table")
    return PriceVersion(
        plan=plan,
        starting_at=starting,
        ending_before=ending_at,
        currency=currency,
        monthly_fee=parse_amount(raw.get("monthly_fee", "0"), f"{where} monthly_fee"),
        included_posts=included,
        overage=None if overage is None else charge_from_dict(overage, f"{where} overage"),
        per_request={
            str(k): parse_amount(v, f"{where} per_request {k}") for k, v in per_request_raw.items()
        },
        stream_fee=parse_amount(raw.get("stream_fee", "0"), f"{where} stream_fee"),
        post_read=_optional_amount(raw, "post_read", where),
        user_read=_optional_amount(raw, "user_read", where),
        minimum_commitment=_optional_amount(raw, "minimum_commitment", where),
    )


def check_no_overlap(versions: Iterable[PriceVersion]) -> None:
    """Refuse two versions of one plan that share an instant."""
    by_plan: dict[str, list[PriceVersion]] = {}
    for v in versions:
        by_plan.setdefault(v.plan, []).append(v)
    for plan, vs in by_plan.items():
        vs.sort(key=lambda v: v.starting_at)
        for a, b in itertools.pairwise(vs):
            if a.ending_before is None or a.ending_before > b.starting_at:
                raise OverlappingPrices(
                    f"plan {plan!r}: the price from {a.starting_at.isoformat()} overlaps the one "
                    f"from {b.starting_at.isoformat()} (end the first before the second starts)"
                )


@dataclass(frozen=True)
class PriceBook:
    """Every price version of every plan."""

    versions: tuple[PriceVersion, ...]

    def __post_init__(self) -> None:
        check_no_overlap(self.versions)

    def in_force(self, plan: str, instant: datetime) -> PriceVersion:
        for v in self.versions:
            if v.plan == plan and v.covers(instant):
                return v
        raise NoPriceInForce(f"plan {plan!r} has no price in force at {instant.isoformat()}")

    def changes_within(self, plan: str, start: datetime, end: datetime) -> list[datetime]:
        """Instants in (start, end) where the plan's price changes."""
        out = set()
        for v in self.versions:
            if v.plan != plan:
                continue
            for t in (v.starting_at, v.ending_before):
                if t is not None and start < t < end:
                    out.add(t)
        return sorted(out)


def parse_price_book(text: str) -> PriceBook:
    """The `[[plans.NAME.prices]]` tables of a plans.toml."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"plans.toml is not valid TOML: {exc}") from exc
    versions: list[PriceVersion] = []
    for name, plan in (data.get("plans") or {}).items():
        raw = plan.get(PRICES_KEY, []) if isinstance(plan, Mapping) else []
        if isinstance(raw, Mapping):
            raw = [raw]
        if not isinstance(raw, list):
            raise InvalidInput(f"plans.{name}.prices must be a list of tables")
        versions.extend(price_from_dict(name, r) for r in raw)
    return PriceBook(tuple(versions))


def default_price_book() -> PriceBook:
    text = resources.files("tollhouse.access").joinpath("plans.toml").read_text(encoding="utf-8")
    return parse_price_book(text)


def versions_of(book: PriceBook, plan: str) -> Sequence[PriceVersion]:
    return [v for v in book.versions if v.plan == plan]
