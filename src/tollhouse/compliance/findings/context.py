"""What one evaluation hands every rule: the organisations in scope, the period, the sources
and the parameters."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from tollhouse.compliance.findings.config import RulesConfig
from tollhouse.compliance.findings.sources import (
    DeliveredPosts,
    Licensees,
    Obligations,
    OrgFacts,
    UsageSource,
)


@dataclass(frozen=True)
class Sources:
    licensees: Licensees
    usage: UsageSource
    deliveries: DeliveredPosts
    obligations: Obligations


@dataclass
class EvaluationContext:
    orgs: list[OrgFacts]  # in scope: findings are kept only for these
    all_orgs: list[OrgFacts]  # cross-organisation rules compare against every one
    start: datetime
    end: datetime
    sources: Sources
    config: RulesConfig
    now: datetime
    # Shared between rules in one run (e.g. saturated hours, computed once per org).
    memo: dict[Any, Any] = field(default_factory=dict)

    def params(self, rule: str) -> dict[str, Any]:
        return self.config.params(rule)

    @property
    def first_day(self) -> date:
        return self.start.date()

    @property
    def end_day(self) -> date:
        """The day after the last day the period touches."""
        day = self.end.date()
        return day if self.end.time() == datetime.min.time() else day + timedelta(days=1)

    def org_name(self, org_id: int) -> str:
        return next((o.name for o in self.all_orgs if o.id == org_id), str(org_id))
