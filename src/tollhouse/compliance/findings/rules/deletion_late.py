"""`deletion.late`: a post the licensee was told was deleted (it consumed the compliance
signal) and still served to it again after notice + the deadline — it still held it, or got it
again. One finding per organisation and UTC day of the deadline, from the obligations."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from tollhouse.compliance.findings.context import EvaluationContext
from tollhouse.compliance.findings.finding import Candidate, Grade
from tollhouse.compliance.findings.rules.signals import DAY, at_day, iso, severity

RULE = "deletion.late"


def evaluate(ctx: EvaluationContext) -> Iterator[Candidate]:
    sev = severity(ctx, RULE, "high")
    for org in ctx.orgs:
        late: dict[date, list[dict[str, Any]]] = defaultdict(list)
        look_from = ctx.start - timedelta(days=30)
        for ob in ctx.sources.obligations.obligations(org.id, look_from, ctx.end):
            if ob.notice_at is None:
                continue  # deletion.no_notice_consumed
            deadline = ob.notice_at + timedelta(hours=ob.deadline_hours)
            if deadline >= ctx.end:
                continue
            seen = ctx.sources.deliveries.requests_delivering(
                org.id, ob.post_id, deadline, ctx.end, 1
            )
            if seen:
                late[deadline.date()].append(
                    {"post_id": str(ob.post_id), "event_at": iso(ob.event_at),
                     "notice_at": iso(ob.notice_at), "deadline": iso(deadline),
                     "seen_at": iso(seen[0][1]), "request_id": seen[0][0]}
                )  # fmt: skip
        for day, items in sorted(late.items()):
            yield Candidate(
                rule=RULE, org_id=org.id, period_start=at_day(day), period_end=at_day(day) + DAY,
                severity=sev, grade=Grade.CONFIRMED,
                evidence={"counts": {"posts": len(items)}, "samples": items[:5],
                          "sample_post_ids": [i["post_id"] for i in items[:5]],
                          "sample_request_ids": [i["request_id"] for i in items[:5]]},
            )  # fmt: skip
