"""`volume.over_entitlement`: use beyond what the plan entitles — more posts in a month than a
hard cap allows, or data from endpoints the plan does not include."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date

from tollhouse.compliance.findings.context import EvaluationContext
from tollhouse.compliance.findings.finding import Candidate, Grade
from tollhouse.compliance.findings.rules.signals import DAY, at_day, month_of, next_month, severity

RULE = "volume.over_entitlement"


def evaluate(ctx: EvaluationContext) -> Iterator[Candidate]:
    sev = severity(ctx, RULE, "high")
    for org in ctx.orgs:
        cap: int | None = org.plan.get("monthly_post_cap")
        hard = cap is not None and org.plan.get("overage_per_1k") is None
        allowed = set(org.plan.get("endpoints", ()))
        posts: dict[date, int] = defaultdict(int)
        last_day: dict[date, date] = {}
        outside: dict[tuple[date, int, str], list[int]] = defaultdict(lambda: [0, 0])
        for row in ctx.sources.usage.daily(org.id, ctx.first_day, ctx.end_day):
            month = month_of(row.day)
            posts[month] += row.posts
            last_day[month] = max(last_day.get(month, row.day), row.day)
            served = row.requests - row.errors
            if allowed and row.endpoint not in allowed and served > 0:
                acc = outside[(month, row.app_id, row.endpoint)]
                acc[0] += served
                acc[1] += row.posts
        if hard and cap is not None:
            for month, total in sorted(posts.items()):
                if total <= cap:
                    continue
                yield Candidate(
                    rule=RULE, org_id=org.id, period_start=at_day(month),
                    period_end=at_day(min(next_month(month), last_day[month] + DAY)),
                    severity=sev, grade=Grade.CONFIRMED, subject="monthly_post_cap",
                    evidence={"counts": {"posts": total, "monthly_post_cap": cap,
                                         "over_by": total - cap}, "plan": org.plan.get("name")},
                )  # fmt: skip
        for (month, app_id, endpoint), (served, delivered) in sorted(outside.items()):
            yield Candidate(
                rule=RULE, org_id=org.id, app_id=app_id, period_start=at_day(month),
                period_end=at_day(next_month(month)), severity=sev, grade=Grade.CONFIRMED,
                subject=f"endpoint:{endpoint}",
                evidence={"counts": {"requests": served, "posts": delivered},
                          "endpoint": endpoint, "plan": org.plan.get("name"),
                          "plan_endpoints": sorted(allowed)},
            )  # fmt: skip
