"""`government.undeclared_end_user`: use attributed (`X-End-User`) to an end user declared in
the government sector before the platform approved it — or never approved."""

from __future__ import annotations

from collections.abc import Iterator

from tollhouse.compliance.findings.context import EvaluationContext
from tollhouse.compliance.findings.finding import Candidate, Grade
from tollhouse.compliance.findings.rules.signals import TICK, app_name, iso, severity

RULE = "government.undeclared_end_user"


def evaluate(ctx: EvaluationContext) -> Iterator[Candidate]:
    sev = severity(ctx, RULE, "critical")
    for org in ctx.orgs:
        government = [u for u in org.end_users if u.sector == "government"]
        if not government:
            continue
        for user in government:
            until = ctx.end if user.approved_at is None else min(ctx.end, user.approved_at)
            if until <= ctx.start:
                continue
            rows = [
                r
                for r in ctx.sources.usage.end_users(org.id, ctx.start, until)
                if r.end_user_id == user.id
            ]
            if not rows:
                continue
            first = min(r.first_at for r in rows)
            last = max(r.last_at for r in rows)
            yield Candidate(
                rule=RULE, org_id=org.id, subject=f"end_user:{user.id}",
                period_start=first, period_end=max(last, first) + TICK, severity=sev,
                grade=Grade.CONFIRMED,
                evidence={
                    "end_user": user.name, "sector": user.sector,
                    "first_use": iso(first), "approved_at": iso(user.approved_at),
                    "declared_at": iso(user.created_at),
                    "counts": {"requests_before_approval": sum(r.requests for r in rows)},
                    "apps": sorted({app_name(org, r.app_id) for r in rows}),
                    "sample_request_ids": [i for r in rows for i in r.sample_request_ids][:5],
                },
            )  # fmt: skip
