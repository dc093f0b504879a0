"""An operator's moves on a finding: acknowledge, resolve, dismiss — each with a reason, in the
admin audit trail."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from tollhouse.access.models import admin_audit
from tollhouse.compliance.findings import register
from tollhouse.compliance.findings.errors import InvalidTransition
from tollhouse.compliance.findings.finding import TRANSITIONS, Finding, Status
from tollhouse.compliance.findings.models import findings
from tollhouse.errors import InvalidInput

ACTIONS = {
    "ack": Status.ACKNOWLEDGED,
    "resolve": Status.RESOLVED,
    "dismiss": Status.DISMISSED,
}


def transition(engine: Engine, finding_id: int, action: str, reason: str, actor: str) -> Finding:
    """Move finding `finding_id` by `action` (ack, resolve, dismiss); the reason is required."""
    target = ACTIONS.get(action)
    if target is None:
        raise InvalidInput(f"action must be one of {', '.join(ACTIONS)}")
    reason = reason.strip()
    if not reason or len(reason) > 2000:
        raise InvalidInput("a reason of 1-2000 characters is required")
    now = datetime.now(UTC)
    with engine.begin() as conn:
        before = register.get(conn, finding_id)
        if target not in TRANSITIONS[Status(before.status)]:
            raise InvalidTransition(
                f"finding {finding_id} is {before.status}; it cannot be {target.value}"
            )
        conn.execute(
            findings.update()
            .where(findings.c.id == finding_id)
            .values(status=target.value, status_reason=reason, status_actor=actor, status_at=now)
        )
        after = register.get(conn, finding_id)
        conn.execute(
            admin_audit.insert().values(
                at=now,
                actor=actor,
                action=f"finding.{action}",
                target_type="finding",
                target=str(finding_id),
                before={"status": before.status, "reason": before.status_reason},
                after={"status": after.status, "reason": reason, "rule": after.rule,
                       "org": after.org},
            )
        )  # fmt: skip
    return after
