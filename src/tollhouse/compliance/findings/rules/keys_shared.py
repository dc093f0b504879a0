"""`keys.shared`: one key used on one day from many client networks and many user agents — a
key handed to others. Networks inside the organisation's declared egress ranges count as one."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from tollhouse.compliance.findings.config import in_networks
from tollhouse.compliance.findings.context import EvaluationContext
from tollhouse.compliance.findings.finding import Candidate, Grade
from tollhouse.compliance.findings.rules.signals import at_day, severity, spans

RULE = "keys.shared"


@dataclass
class _KeyDay:
    app_id: int = 0
    networks: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    agents: set[str] = field(default_factory=set)
    samples: list[str] = field(default_factory=list)


def evaluate(ctx: EvaluationContext) -> Iterator[Candidate]:
    p = ctx.params(RULE)
    min_networks = int(p.get("min_networks", 20))
    min_agents = int(p.get("min_agents", 5))
    sev = severity(ctx, RULE, "high")
    for org in ctx.orgs:
        declared = ctx.config.declared_networks.get(org.name, ())
        days: dict[tuple[str, date], _KeyDay] = defaultdict(_KeyDay)
        for row in ctx.sources.usage.key_networks(org.id, ctx.first_day, ctx.end_day):
            kd = days[(row.key_id, row.day)]
            kd.app_id = row.app_id
            network = "declared" if in_networks(row.network, declared) else row.network
            kd.networks[network] += row.requests
            kd.agents.add(row.user_agent)
            if len(kd.samples) < 5 and network != "declared":
                kd.samples.append(row.sample_request_id)
        shared: dict[str, list[tuple[date, _KeyDay]]] = defaultdict(list)
        for (key_id, day), kd in days.items():
            if len(kd.networks) >= min_networks and len(kd.agents) >= min_agents:
                shared[key_id].append((day, kd))
        for key_id, items in sorted(shared.items()):
            for first, after, run in spans(items):
                top = sorted(run[0].networks.items(), key=lambda kv: -kv[1])[:10]
                yield Candidate(
                    rule=RULE, org_id=org.id, app_id=run[0].app_id, key_id=key_id,
                    period_start=at_day(first), period_end=at_day(after), severity=sev,
                    grade=Grade.PROBABLE,
                    evidence={
                        "counts": {"days": len(run),
                                   "max_networks": max(len(k.networks) for k in run),
                                   "max_agents": max(len(k.agents) for k in run),
                                   "requests": sum(sum(k.networks.values()) for k in run)},
                        "top_networks": [_label(ctx, n, c) for n, c in top],
                        "agents": sorted(run[0].agents)[:12],
                        "sample_request_ids": [s for k in run for s in k.samples][:5],
                        "thresholds": {"networks": min_networks, "agents": min_agents},
                    },
                )  # fmt: skip


def _label(ctx: EvaluationContext, network: str, requests: int) -> dict[str, object]:
    out: dict[str, object] = {"network": network, "requests": requests}
    if ctx.config.asn is not None:
        owner = ctx.config.asn.lookup(network)
        if owner:
            out["asn"], out["as_name"] = owner
    return out
