"""Which agreement version was in force for an organisation at a moment, and what it forbids.

The version in force is the newest one the organisation had accepted by then; before any
acceptance, the newest one published by then (the platform's terms, not yet accepted: cited
as such). A rule's prohibition is read from that version's machine-readable terms, so use a
later version forbids is judged only as an indicator.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class VersionInForce:
    version: str
    terms: Mapping[str, Any]
    since: datetime
    accepted: bool


@dataclass(frozen=True)
class AgreementTimeline:
    """One organisation's agreement versions over time (accepted ones and published ones)."""

    accepted: tuple[VersionInForce, ...]  # by `since` (acceptance time)
    published: tuple[VersionInForce, ...]  # by `since` (publication time)

    def at(self, moment: datetime) -> VersionInForce | None:
        found = _latest(self.accepted, moment)
        return found if found is not None else _latest(self.published, moment)


def _latest(items: Sequence[VersionInForce], moment: datetime) -> VersionInForce | None:
    i = bisect.bisect_right([v.since for v in items], moment)
    return items[i - 1] if i else None


# What each rule family needs a version's terms to say before use can violate it. Families not
# listed (volume, use cases, keys) are the licence's basic conditions, in every version.
Prohibition = Callable[[Mapping[str, Any]], bool]
PROHIBITIONS: dict[str, Prohibition] = {
    "harvest": lambda t: "foundation_model_training" in t.get("prohibited_uses", ()),
    "surveillance": lambda t: "surveillance" in t.get("prohibited_uses", ()),
    "government": lambda t: t.get("government_use", "declared_and_approved") != "allowed",
    "redistribution": lambda t: t.get("redistribution_post_ids_per_30_days") is not None,
    "deletion": lambda t: t.get("deletion_deadline_hours") is not None,
}


def forbids(rule: str, terms: Mapping[str, Any]) -> bool:
    check = PROHIBITIONS.get(rule.split(".", 1)[0])
    return True if check is None else check(terms)


def section(rule: str, terms: Mapping[str, Any], default: str | None) -> str | None:
    clauses = terms.get("clauses") or {}
    return clauses.get(rule) or clauses.get(rule.split(".", 1)[0]) or default
