"""`surveillance.indicator`: searches and stream rules that watch people or events — many
individual accounts targeted (`from:`, `to:`, `@`), listed sensitive-event terms, geo
operators. One finding per organisation and month, listing every signal seen."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from tollhouse.compliance.findings.context import EvaluationContext
from tollhouse.compliance.findings.finding import Candidate, Grade
from tollhouse.compliance.findings.rules.signals import (
    TICK,
    accounts,
    at_day,
    month_of,
    next_month,
    parse_search,
    severity,
)

RULE = "surveillance.indicator"


def evaluate(ctx: EvaluationContext) -> Iterator[Candidate]:
    p = ctx.params(RULE)
    max_accounts = int(p.get("max_targeted_accounts", 50))
    sev = severity(ctx, RULE, "high")
    listed = [str(t).lower() for t in ctx.config.surveillance.get("terms", ())]
    term_re = (
        re.compile(r"(?<!\w)(" + "|".join(re.escape(t) for t in listed) + r")(?!\w)", re.I)
        if listed
        else None
    )
    geo = [str(g).lower() for g in ctx.config.surveillance.get("geo_operators", ())]
    for org in ctx.orgs:
        months: dict[date, dict[str, Any]] = defaultdict(
            lambda: {"accounts": set(), "terms": set(), "geo": set(), "samples": [],
                     "first": None, "queries": 0}
        )  # fmt: skip
        for q in ctx.sources.usage.queries(org.id, ctx.start, ctx.end):
            texts = [parse_search(q.query_string).query, *q.stream_rules]
            m = months[month_of(q.at.date())]
            hit = False
            for text in texts:
                targeted = accounts(text)
                m["accounts"] |= targeted
                if term_re is not None:
                    found = {x.group(0).lower() for x in term_re.finditer(text)}
                    m["terms"] |= found
                    hit = hit or bool(found)
                operators = {g for g in geo if g in text.lower()}
                m["geo"] |= operators
                hit = hit or bool(operators) or bool(targeted)
            m["queries"] += 1
            if hit:
                if len(m["samples"]) < 5:
                    m["samples"].append(q.request_id)
                m["first"] = q.at if m["first"] is None else min(m["first"], q.at)
        for month, m in sorted(months.items()):
            signals: dict[str, Any] = {}
            if len(m["accounts"]) >= max_accounts:
                signals["targeted_accounts"] = len(m["accounts"])
            if m["terms"]:
                signals["sensitive_terms"] = sorted(m["terms"])
            if m["geo"]:
                signals["geo_operators"] = sorted(m["geo"])
            if not signals:
                continue
            first: datetime = m["first"] or at_day(month)
            yield Candidate(
                rule=RULE, org_id=org.id, period_start=at_day(month),
                period_end=max(at_day(next_month(month)), first + TICK), used_at=first,
                severity=sev, grade=Grade.INDICATOR,
                evidence={"signals": signals,
                          "counts": {"queries_and_rule_sets": m["queries"],
                                     "targeted_accounts": len(m["accounts"])},
                          "sample_accounts": sorted(m["accounts"])[:10],
                          "sample_request_ids": m["samples"]},
            )  # fmt: skip
