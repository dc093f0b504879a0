"""`keys.service_bureau`: keys of different organisations used from the same set of client
networks in a month — one operator running several licensees' keys. Networks that many
organisations share (public NAT, clouds) and declared egress ranges are left out."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from itertools import combinations

from tollhouse.compliance.findings.config import in_networks
from tollhouse.compliance.findings.context import EvaluationContext
from tollhouse.compliance.findings.finding import Candidate, Grade
from tollhouse.compliance.findings.rules.signals import at_day, month_of, next_month, severity

RULE = "keys.service_bureau"


def evaluate(ctx: EvaluationContext) -> Iterator[Candidate]:
    p = ctx.params(RULE)
    min_shared = int(p.get("min_shared_networks", 3))
    min_overlap = float(p.get("min_overlap", 0.5))
    max_orgs = int(p.get("max_orgs_per_network", 10))
    sev = severity(ctx, RULE)
    names = {o.id: o.name for o in ctx.all_orgs}
    declared = ctx.config.declared_networks
    nets: dict[date, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
    samples: dict[tuple[date, int], list[str]] = defaultdict(list)
    for row in ctx.sources.usage.key_networks(None, ctx.first_day, ctx.end_day):
        if in_networks(row.network, declared.get(names.get(row.org_id, ""), ())):
            continue
        month = month_of(row.day)
        nets[month][row.org_id].add(row.network)
        if len(samples[(month, row.org_id)]) < 3:
            samples[(month, row.org_id)].append(row.sample_request_id)
    in_scope = {o.id for o in ctx.orgs}
    for month, by_org in sorted(nets.items()):
        orgs_of: dict[str, set[int]] = defaultdict(set)
        for org_id, networks in by_org.items():
            for n in networks:
                orgs_of[n].add(org_id)
        pairs: dict[tuple[int, int], set[str]] = defaultdict(set)
        for network, orgs in orgs_of.items():
            if 2 <= len(orgs) <= max_orgs:
                for a, b in combinations(sorted(orgs), 2):
                    pairs[(a, b)].add(network)
        for (a, b), shared in sorted(pairs.items()):
            smaller = min(len(by_org[a]), len(by_org[b]))
            if len(shared) < min_shared or len(shared) / smaller < min_overlap:
                continue
            for org_id, other in ((a, b), (b, a)):
                if org_id not in in_scope:
                    continue
                yield Candidate(
                    rule=RULE, org_id=org_id, subject=f"with:{other}",
                    period_start=at_day(month), period_end=at_day(next_month(month)),
                    severity=sev, grade=Grade.INDICATOR,
                    evidence={"other_org": names.get(other, str(other)),
                              "counts": {"shared_networks": len(shared),
                                         "networks": len(by_org[org_id]),
                                         "other_networks": len(by_org[other])},
                              "shared_networks": sorted(shared)[:20],
                              "sample_request_ids": samples[(month, org_id)]
                              + samples[(month, other)]},
                )  # fmt: skip
