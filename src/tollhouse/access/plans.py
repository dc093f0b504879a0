"""Plans (tiers) and the plan book they come from (`plans.toml`).

Who owns what: access owns what a plan *allows* — endpoints included, rate limits per endpoint
template, the monthly post cap and whether it is hard, max apps/stream rules/query length.
Billing owns what a plan *costs* (fees, tiers, overage prices, credits). The shipped book stays
one file with one table per plan; each domain reads only its part of it. The price keys
(`PRICE_KEYS`) are carried here only to list plans (admin API, `tollhouse plans`) and to
validate the file; no access or limits decision reads a price, except that a plan with an
`overage_per_1k` has a soft cap (limits' `PlanLimits`). Billing reads the price keys itself.
The shipped defaults (`plans.toml` next to this module) are shaped like X's 2025 tiers.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

from tollhouse.access.errors import InvalidPlanBook
from tollhouse.endpoints import TEMPLATES

# The book's keys that belong to billing (what a plan costs); access only lists and checks them.
PRICE_KEYS = frozenset({"monthly_fee", "overage_per_1k"})


@dataclass(frozen=True, slots=True)
class RateLimit:
    """`requests` per `window_seconds` (900 for X's 15-minute windows, 86400 for 24 hours)."""

    requests: int
    window_seconds: int


@dataclass(frozen=True, slots=True)
class Plan:
    name: str
    monthly_fee: Decimal
    monthly_post_cap: int | None  # None: no cap (custom contract)
    overage_per_1k: Decimal | None  # None: no overage, the cap is hard
    endpoints: frozenset[str]
    rate_limits: Mapping[str, tuple[RateLimit, ...]]
    max_apps: int
    max_stream_rules: int
    max_query_length: int
    description: str = ""

    def allows(self, template: str) -> bool:
        return template in self.endpoints

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (money as strings), the same shape `plan_from_dict` reads."""
        return {
            "name": self.name,
            "description": self.description,
            "monthly_fee": str(self.monthly_fee),
            "monthly_post_cap": self.monthly_post_cap,
            "overage_per_1k": None if self.overage_per_1k is None else str(self.overage_per_1k),
            "endpoints": sorted(self.endpoints),
            "rate_limits": {
                t: [{"requests": r.requests, "window_seconds": r.window_seconds} for r in limits]
                for t, limits in sorted(self.rate_limits.items())
            },
            "max_apps": self.max_apps,
            "max_stream_rules": self.max_stream_rules,
            "max_query_length": self.max_query_length,
        }


def _money(value: Any, where: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise InvalidPlanBook(f"{where}: {value!r} is not an amount of money") from exc
    if not amount.is_finite() or amount < 0:
        raise InvalidPlanBook(f"{where}: {value!r} must be a non-negative amount")
    return amount


def _count(value: Any, where: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidPlanBook(f"{where}: {value!r} must be a whole number ≥ {minimum}")
    return value


def plan_from_dict(name: str, raw: Mapping[str, Any]) -> Plan:
    """Validate one plan table; raise InvalidPlanBook naming the plan and field at fault."""
    where = f"plan {name!r}"
    known = {
        "name", "description", "monthly_fee", "monthly_post_cap", "overage_per_1k", "endpoints",
        "rate_limits", "max_apps", "max_stream_rules", "max_query_length",
    }  # fmt: skip
    unknown = set(raw) - known
    if unknown:
        raise InvalidPlanBook(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    for required in ("monthly_fee", "endpoints", "max_apps"):
        if required not in raw:
            raise InvalidPlanBook(f"{where}: missing {required}")
    endpoints = raw["endpoints"]
    if not isinstance(endpoints, list) or not all(isinstance(e, str) for e in endpoints):
        raise InvalidPlanBook(f"{where}: endpoints must be a list of endpoint templates")
    bad = sorted(set(endpoints) - TEMPLATES)
    if bad:
        raise InvalidPlanBook(f"{where}: unknown endpoint(s) {', '.join(bad)}")
    limits: dict[str, tuple[RateLimit, ...]] = {}
    raw_limits = raw.get("rate_limits", {})
    if not isinstance(raw_limits, Mapping):
        raise InvalidPlanBook(f"{where}: rate_limits must be a table keyed by endpoint")
    for template, entries in raw_limits.items():
        if template not in endpoints:
            raise InvalidPlanBook(f"{where}: rate limit for {template} which the plan lacks")
        if isinstance(entries, Mapping):
            entries = [entries]
        if not isinstance(entries, list) or not entries:
            raise InvalidPlanBook(f"{where}: rate_limits[{template!r}] must list windows")
        parsed = []
        for entry in entries:
            if not isinstance(entry, Mapping) or set(entry) != {"requests", "window_seconds"}:
                raise InvalidPlanBook(
                    f"{where}: rate_limits[{template!r}] entries need requests and window_seconds"
                )
            parsed.append(
                RateLimit(
                    _count(entry["requests"], f"{where} {template} requests", 1),
                    _count(entry["window_seconds"], f"{where} {template} window_seconds", 1),
                )
            )
        limits[template] = tuple(parsed)
    cap = raw.get("monthly_post_cap")
    overage = raw.get("overage_per_1k")
    return Plan(
        name=name,
        description=str(raw.get("description", "")),
        monthly_fee=_money(raw["monthly_fee"], f"{where} monthly_fee"),
        monthly_post_cap=None if cap is None else _count(cap, f"{where} monthly_post_cap"),
        overage_per_1k=None if overage is None else _money(overage, f"{where} overage_per_1k"),
        endpoints=frozenset(endpoints),
        rate_limits=limits,
        max_apps=_count(raw["max_apps"], f"{where} max_apps", 1),
        max_stream_rules=_count(raw.get("max_stream_rules", 0), f"{where} max_stream_rules"),
        max_query_length=_count(raw.get("max_query_length", 512), f"{where} max_query_length", 1),
    )


def parse_plan_book(text: str) -> list[Plan]:
    """Parse a plans.toml: one `[plans.NAME]` table per plan (names are lower case)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidPlanBook(f"plans.toml is not valid TOML: {exc}") from exc
    plans = data.get("plans")
    if not isinstance(plans, Mapping) or not plans:
        raise InvalidPlanBook("plans.toml must define at least one [plans.NAME] table")
    out = []
    for name, raw in plans.items():
        if not isinstance(raw, Mapping):
            raise InvalidPlanBook(f"plans.{name} must be a table")
        if name != name.lower() or not name.replace("_", "").replace("-", "").isalnum():
            raise InvalidPlanBook(f"plan name {name!r} must be lower-case letters, digits, - or _")
        out.append(plan_from_dict(name, raw))
    return out


def load_plan_book(path: Path) -> list[Plan]:
    """Read and parse a plans.toml file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidPlanBook(f"cannot read {path}: {exc.strerror}") from exc
    return parse_plan_book(text)


def default_plan_book_text() -> str:
    """The shipped price book (X-2025-shaped Free/Basic/Pro/Enterprise)."""
    return resources.files("tollhouse.access").joinpath("plans.toml").read_text(encoding="utf-8")


def default_plans() -> list[Plan]:
    return parse_plan_book(default_plan_book_text())
