"""`volume.split_across_apps`: one workload spread over several apps of an organisation to get
round per-app limits — on the same day, two or more apps each near their limit on the same
endpoint, whose keys share client networks or user agents."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from tollhouse.compliance.findings.context import EvaluationContext
from tollhouse.compliance.findings.finding import Candidate, Grade
from tollhouse.compliance.findings.rules.signals import (
    app_name,
    at_day,
    hourly_capacity,
    iso,
    severity,
    spans,
)

RULE = "volume.split_across_apps"


@dataclass(frozen=True, slots=True)
class _Day:
    shares: dict[int, float]  # app → share of its daily capacity used
    networks: frozenset[str]
    agents: frozenset[str]


def evaluate(ctx: EvaluationContext) -> Iterator[Candidate]:
    params = ctx.params(RULE)
    near = float(params.get("near_limit", 0.8))
    min_apps = int(params.get("min_apps", 2))
    min_days = int(params.get("min_days", 1))
    sev = severity(ctx, RULE)
    for org in ctx.orgs:
        if len(org.apps) < min_apps:
            continue
        busy: dict[tuple[date, str], dict[int, float]] = defaultdict(dict)
        for row in ctx.sources.usage.daily(org.id, ctx.first_day, ctx.end_day):
            cap = hourly_capacity(org.plan, row.endpoint)
            if cap and row.requests >= near * cap * 24:
                busy[(row.day, row.endpoint)][row.app_id] = row.requests / (cap * 24)
        candidates = {k: v for k, v in busy.items() if len(v) >= min_apps}
        if not candidates:
            continue
        shared = _shared_clients(ctx, org.id)
        by_endpoint: dict[str, list[tuple[date, _Day]]] = defaultdict(list)
        for (day, endpoint), shares in candidates.items():
            apps = set(shares)
            clients = shared.get(day, {})
            nets = frozenset(
                n for n, a in clients.get("networks", {}).items() if len(a & apps) >= min_apps
            )
            agents = frozenset(
                u for u, a in clients.get("agents", {}).items() if len(a & apps) >= min_apps
            )
            if nets or agents:
                by_endpoint[endpoint].append((day, _Day(shares, nets, agents)))
        for endpoint, days in sorted(by_endpoint.items()):
            for first, after, items in spans(days):
                if len(items) < min_days:
                    continue
                app_ids = sorted({a for i in items for a in i.shares})
                yield Candidate(
                    rule=RULE, org_id=org.id, subject=endpoint, period_start=at_day(first),
                    period_end=at_day(after), severity=sev, grade=Grade.PROBABLE,
                    evidence={
                        "counts": {"days": len(items), "apps": len(app_ids)},
                        "endpoint": endpoint,
                        "apps": [app_name(org, a) for a in app_ids],
                        "near_limit": near,
                        "shared_networks": sorted({n for i in items for n in i.networks})[:10],
                        "shared_agents": sorted({u for i in items for u in i.agents})[:10],
                        "first_day": iso(first),
                    },
                )  # fmt: skip


def _shared_clients(
    ctx: EvaluationContext, org_id: int
) -> dict[date, dict[str, dict[str, set[int]]]]:
    out: dict[date, dict[str, dict[str, set[int]]]] = defaultdict(
        lambda: {"networks": defaultdict(set), "agents": defaultdict(set)}
    )
    for row in ctx.sources.usage.key_networks(org_id, ctx.first_day, ctx.end_day):
        out[row.day]["networks"][row.network].add(row.app_id)
        out[row.day]["agents"][row.user_agent].add(row.app_id)
    return out
