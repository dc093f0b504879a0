"""The finding and what a rule proposes (a candidate) — value objects."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class Grade(enum.StrEnum):
    """How strong the evidence is: the licensee's own declarations or records that admit one
    reading (confirmed), a pattern that is hard to explain otherwise (probable), a signal worth a
    question (indicator). Use a later agreement version forbids is only ever an indicator."""

    CONFIRMED = "confirmed"
    PROBABLE = "probable"
    INDICATOR = "indicator"


class Severity(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Status(enum.StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"
    # The data changed and the rule no longer finds this: kept, never deleted.
    SUPERSEDED = "superseded"


# The operator's moves; anything else is refused.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.OPEN: frozenset({Status.ACKNOWLEDGED, Status.RESOLVED, Status.DISMISSED}),
    Status.ACKNOWLEDGED: frozenset({Status.RESOLVED, Status.DISMISSED}),
    Status.RESOLVED: frozenset(),
    Status.DISMISSED: frozenset(),
    Status.SUPERSEDED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class Candidate:
    """What a rule finds: the engine adds the clause in force at `used_at`, grades it down when
    that version did not forbid it yet, and stores it under its natural key."""

    rule: str
    org_id: int
    period_start: datetime
    period_end: datetime
    severity: Severity
    grade: Grade
    evidence: dict[str, Any]
    app_id: int | None = None
    key_id: str | None = None
    # What distinguishes two findings of one rule, org, app and key that start together
    # (the receiving organisation of a redistribution, an end user's id, a post id …).
    subject: str = ""
    # When the usage that matters happened (default: period_start): picks the agreement version.
    used_at: datetime | None = None

    @property
    def natural_key(self) -> str:
        parts = (
            self.rule,
            str(self.org_id),
            "" if self.app_id is None else str(self.app_id),
            self.key_id or "",
            self.subject,
            self.period_start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        return "|".join(parts)


@dataclass(frozen=True, slots=True)
class Finding:
    id: int
    org_id: int
    org: str
    app_id: int | None
    app: str | None
    key: str | None
    rule: str
    clause: str
    agreement_version: str | None
    severity: str
    grade: str
    period_start: datetime
    period_end: datetime
    evidence: dict[str, Any]
    status: str
    status_reason: str | None
    status_actor: str | None
    status_at: datetime | None
    created_at: datetime
    updated_at: datetime
    natural_key: str = field(default="", repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "org": self.org,
            "app": self.app,
            "key": self.key,
            "rule": self.rule,
            "clause": self.clause,
            "agreement_version": self.agreement_version,
            "severity": self.severity,
            "grade": self.grade,
            "period_start": _iso(self.period_start),
            "period_end": _iso(self.period_end),
            "evidence": self.evidence,
            "status": self.status,
            "status_reason": self.status_reason,
            "status_actor": self.status_actor,
            "status_at": _iso(self.status_at),
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
        }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")
