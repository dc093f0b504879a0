"""`use_case.mismatch`: an app whose month of use does not fit its declared use cases — a
larger share of full-archive search than any of them explains (an analytics or display app
sweeping the archive), or a test/staging app carrying production volume."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from datetime import date

from tollhouse.compliance.findings.context import EvaluationContext
from tollhouse.compliance.findings.finding import Candidate, Grade
from tollhouse.compliance.findings.rules.signals import (
    DAY,
    FULL_ARCHIVE,
    Tally,
    at_day,
    month_of,
    next_month,
    severity,
)

RULE = "use_case.mismatch"


def evaluate(ctx: EvaluationContext) -> Iterator[Candidate]:
    params = ctx.params(RULE)
    test_app = re.compile(str(params.get("test_app_pattern", r"(?i)\btest\b")))
    test_max = int(params.get("test_max_monthly_requests", 100_000))
    min_requests = int(params.get("min_monthly_requests", 1000))
    archive_share = {
        str(k): float(v) for k, v in dict(params.get("full_archive_share", {})).items()
    }
    sev = severity(ctx, RULE)
    for org in ctx.orgs:
        apps = {a.id: a for a in org.apps}
        total: dict[tuple[int, date], Tally] = defaultdict(Tally)
        archive: dict[tuple[int, date], int] = defaultdict(int)
        for row in ctx.sources.usage.daily(org.id, ctx.first_day, ctx.end_day):
            served = row.requests - row.errors
            if served <= 0 or row.app_id not in apps:
                continue
            key = (row.app_id, month_of(row.day))
            total[key].add(row.day, served, row.posts)
            if row.endpoint == FULL_ARCHIVE:
                archive[key] += served
        for (app_id, month), t in sorted(total.items()):
            app = apps[app_id]
            if t.requests < min_requests:
                continue
            end = at_day(min(next_month(month), t.last + DAY))
            common = {"app": app.name, "declared_use_cases": list(app.use_cases)}
            if test_app.search(app.name) and t.requests > test_max:
                yield Candidate(
                    rule=RULE, org_id=org.id, app_id=app_id, subject="test_app_volume",
                    period_start=at_day(month), period_end=end, severity=sev,
                    grade=Grade.PROBABLE, used_at=at_day(t.first),
                    evidence={**common, "counts": {"requests": t.requests, "posts": t.posts,
                                                   "test_app_max_requests": test_max}},
                )  # fmt: skip
            if not app.use_cases:
                continue  # use_case.undeclared says so
            allowed = max(archive_share.get(u, 1.0) for u in app.use_cases)
            share = archive[(app_id, month)] / t.requests
            if share > allowed:
                yield Candidate(
                    rule=RULE, org_id=org.id, app_id=app_id, subject="full_archive",
                    period_start=at_day(month), period_end=end, severity=sev,
                    grade=Grade.PROBABLE, used_at=at_day(t.first),
                    evidence={**common, "counts": {
                        "requests": t.requests, "full_archive_requests": archive[(app_id, month)],
                        "full_archive_share": round(share, 4), "explained_share": allowed}},
                )  # fmt: skip
