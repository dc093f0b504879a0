"""`deletion.no_notice_consumed`: posts delivered to the licensee and deleted on the platform,
for which it consumed no compliance signal (stream event, batch job result) within the
deadline — it cannot have deleted what it was never told about. One finding per organisation
and UTC day of the platform events."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from tollhouse.compliance.findings.context import EvaluationContext
from tollhouse.compliance.findings.finding import Candidate, Grade
from tollhouse.compliance.findings.rules.signals import DAY, at_day, iso, severity

RULE = "deletion.no_notice_consumed"


def evaluate(ctx: EvaluationContext) -> Iterator[Candidate]:
    sev = severity(ctx, RULE)
    horizon = min(ctx.end, ctx.now)
    for org in ctx.orgs:
        missed: dict[date, list[dict[str, Any]]] = defaultdict(list)
        for ob in ctx.sources.obligations.obligations(org.id, ctx.start, ctx.end):
            due = ob.event_at + timedelta(hours=ob.deadline_hours)
            if due > horizon:
                continue
            if ob.notice_at is not None and ob.notice_at <= due:
                continue
            missed[ob.event_at.date()].append(
                {"post_id": str(ob.post_id), "event_at": iso(ob.event_at),
                 "signal_due_by": iso(due), "notice_at": iso(ob.notice_at)}
            )  # fmt: skip
        for day, items in sorted(missed.items()):
            yield Candidate(
                rule=RULE, org_id=org.id, period_start=at_day(day), period_end=at_day(day) + DAY,
                severity=sev, grade=Grade.PROBABLE,
                evidence={"counts": {"posts": len(items),
                                     "never_consumed": sum(i["notice_at"] is None for i in items)},
                          "samples": items[:5],
                          "sample_post_ids": [i["post_id"] for i in items[:5]]},
            )  # fmt: skip
