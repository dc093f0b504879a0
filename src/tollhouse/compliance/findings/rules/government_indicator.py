"""`government.indicator`: signs of government use nobody declared — `X-End-User` names that
name a listed government body (undeclared, or declared in another sector), traffic from listed
government networks (or networks the local ASN database names as one), and queries or stream
rules naming a listed body. One finding per organisation, month and kind of signal."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from tollhouse.compliance.findings.context import EvaluationContext
from tollhouse.compliance.findings.finding import Candidate, Grade
from tollhouse.compliance.findings.rules.signals import (
    TICK,
    at_day,
    month_of,
    next_month,
    parse_search,
    severity,
)

RULE = "government.indicator"


def evaluate(ctx: EvaluationContext) -> Iterator[Candidate]:
    sev = severity(ctx, RULE, "high")
    names = ctx.config.government_names
    cidrs = [str(n) for n in ctx.config.government_networks]
    for org in ctx.orgs:
        declared_gov = {u.id for u in org.end_users if u.sector == "government"}
        found: dict[tuple[date, str], dict[str, Any]] = defaultdict(
            lambda: {"items": set(), "requests": 0, "samples": [], "first": None}
        )

        def note(
            kind: str,
            at: datetime,
            item: str,
            requests: int,
            sample: str,
            found: dict[tuple[date, str], dict[str, Any]] = found,
        ) -> None:
            acc = found[(month_of(at.date()), kind)]
            acc["items"].add(item)
            acc["requests"] += requests
            if len(acc["samples"]) < 5:
                acc["samples"].append(sample)
            acc["first"] = at if acc["first"] is None else min(acc["first"], at)

        if names is not None:
            for use in ctx.sources.usage.end_users(org.id, ctx.start, ctx.end):
                if use.end_user_id in declared_gov or not names.search(use.name):
                    continue
                note(
                    "end_user_name", use.first_at, use.name, use.requests, use.sample_request_ids[0]
                )
            for q in ctx.sources.usage.queries(org.id, ctx.start, ctx.end):
                texts = [parse_search(q.query_string).query, *q.stream_rules]
                hits = {m.group(0).lower() for t in texts for m in names.finditer(t)}
                for hit in hits:
                    note("query", q.at, hit, 1, q.request_id)
        if cidrs:
            for n in ctx.sources.usage.networks(org.id, ctx.start, ctx.end, cidrs):
                note("network", n.first_at, n.network, n.requests, n.sample_request_id)
        if ctx.config.asn is not None and names is not None:
            for row in ctx.sources.usage.key_networks(org.id, ctx.first_day, ctx.end_day):
                owner = ctx.config.asn.lookup(row.network)
                if owner and names.search(owner[1]):
                    note("network", at_day(row.day), f"{row.network} AS{owner[0]} {owner[1]}",
                         row.requests, row.sample_request_id)  # fmt: skip
        for (month, kind), acc in sorted(found.items()):
            first: datetime = acc["first"]
            yield Candidate(
                rule=RULE, org_id=org.id, subject=kind, period_start=at_day(month),
                period_end=max(at_day(next_month(month)), first + TICK), used_at=first,
                severity=sev, grade=Grade.PROBABLE if kind == "network" else Grade.INDICATOR,
                evidence={"signal": kind, "matched": sorted(acc["items"])[:20],
                          "counts": {"requests": acc["requests"], "matched": len(acc["items"])},
                          "sample_request_ids": acc["samples"]},
            )  # fmt: skip
