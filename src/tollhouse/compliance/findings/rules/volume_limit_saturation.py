"""`volume.limit_saturation`: an app using ≥ 95 % of its rate window on an endpoint hour after
hour (hourly rollups against the plan's tightest window, scaled to an hour)."""

from __future__ import annotations

from collections.abc import Iterator

from tollhouse.compliance.findings.context import EvaluationContext
from tollhouse.compliance.findings.finding import Candidate, Grade
from tollhouse.compliance.findings.rules.signals import HOUR, episodes, iso, saturation, severity

RULE = "volume.limit_saturation"


def evaluate(ctx: EvaluationContext) -> Iterator[Candidate]:
    params = ctx.params(RULE)
    threshold = float(params.get("saturation", 0.95))
    min_hours = int(params.get("min_hours", 6))
    sev = severity(ctx, RULE)
    for org in ctx.orgs:
        for (app_id, endpoint), hours in sorted(saturation(ctx, org).items()):
            hot = [(h, r) for h, r in hours if r >= threshold]
            for run in episodes(hot, HOUR, key=lambda p: p[0]):
                if len(run) < min_hours:
                    continue
                yield Candidate(
                    rule=RULE, org_id=org.id, app_id=app_id, subject=endpoint,
                    period_start=run[0][0], period_end=run[-1][0] + HOUR, severity=sev,
                    grade=Grade.PROBABLE if len(run) >= 24 else Grade.INDICATOR,
                    evidence={
                        "counts": {"hours": len(run),
                                   "mean_share": round(sum(r for _, r in run) / len(run), 4)},
                        "endpoint": endpoint, "threshold": threshold,
                        "first_hour": iso(run[0][0]), "last_hour": iso(run[-1][0]),
                    },
                )  # fmt: skip
