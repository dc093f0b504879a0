"""`redistribution.canary`: a canary post planted for one organisation only, delivered to
another one — confirmed redistribution by the first (it had no other way to get there)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from tollhouse.compliance.findings.context import EvaluationContext
from tollhouse.compliance.findings.finding import Candidate, Grade
from tollhouse.compliance.findings.rules.signals import DAY, at_day, iso, severity

RULE = "redistribution.canary"


def evaluate(ctx: EvaluationContext) -> Iterator[Candidate]:
    planted = ctx.sources.licensees.canaries()
    if not planted:
        return
    sev = severity(ctx, RULE, "critical")
    names = {o.id: o.name for o in ctx.all_orgs}
    in_scope = {o.id for o in ctx.orgs}
    first_seen: dict[tuple[int, int], tuple[date, int]] = {}
    for d in ctx.sources.deliveries.deliveries(None, ctx.first_day, ctx.end_day):
        for post_id, owner in planted.items():
            if d.org_id == owner or owner not in in_scope or post_id not in d.posts:
                continue
            key = (post_id, d.org_id)
            if key not in first_seen or d.day < first_seen[key][0]:
                first_seen[key] = (d.day, d.app_id)
    for (post_id, m_id), (day, app_id) in sorted(first_seen.items()):
        owner = planted[post_id]
        requests = ctx.sources.deliveries.requests_delivering(
            m_id, post_id, at_day(day), at_day(day) + DAY, 3
        )
        yield Candidate(
            rule=RULE, org_id=owner, subject=f"{post_id}:to:{m_id}", period_start=at_day(day),
            period_end=at_day(day) + DAY, severity=sev, grade=Grade.CONFIRMED,
            used_at=requests[0][1] if requests else at_day(day),
            evidence={"canary_post_id": str(post_id), "planted_for": names.get(owner),
                      "recipient": names.get(m_id, str(m_id)), "recipient_app_id": app_id,
                      "first_seen": iso(requests[0][1]) if requests else iso(day),
                      "counts": {"recipient_requests": len(requests)},
                      "sample_post_ids": [str(post_id)],
                      "sample_request_ids": [r for r, _ in requests]},
        )  # fmt: skip
