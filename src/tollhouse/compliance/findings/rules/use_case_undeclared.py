"""`use_case.undeclared`: an app that received data in a month without a declared use case."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date

from tollhouse.compliance.findings.context import EvaluationContext
from tollhouse.compliance.findings.finding import Candidate, Grade
from tollhouse.compliance.findings.rules.signals import (
    DAY,
    Tally,
    at_day,
    iso,
    month_of,
    next_month,
    severity,
)

RULE = "use_case.undeclared"


def evaluate(ctx: EvaluationContext) -> Iterator[Candidate]:
    sev = severity(ctx, RULE, "high")
    for org in ctx.orgs:
        undeclared = {a.id: a for a in org.apps if not a.use_cases}
        if not undeclared:
            continue
        use: dict[tuple[int, date], Tally] = defaultdict(Tally)
        for row in ctx.sources.usage.daily(org.id, ctx.first_day, ctx.end_day):
            served = row.requests - row.errors
            if row.app_id in undeclared and served > 0:
                use[(row.app_id, month_of(row.day))].add(row.day, served, row.posts)
        for (app_id, month), t in sorted(use.items()):
            app = undeclared[app_id]
            yield Candidate(
                rule=RULE, org_id=org.id, app_id=app_id, period_start=at_day(month),
                period_end=at_day(min(next_month(month), t.last + DAY)),
                severity=sev, grade=Grade.CONFIRMED, used_at=at_day(t.first),
                evidence={"counts": {"requests": t.requests, "posts": t.posts},
                          "app": app.name, "declared_use_cases": [],
                          "app_created_at": iso(app.created_at),
                          "first_day": iso(t.first), "last_day": iso(t.last)},
            )  # fmt: skip
