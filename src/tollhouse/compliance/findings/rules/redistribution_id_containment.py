"""`redistribution.id_containment`: post ids delivered to organisation L and then looked up
only by id (never found by search, timeline or stream) by organisation M — L handing its ids
on. Summed over all of L's apps and over every rolling window of `window_days`, against the
agreement's `redistribution_post_ids_per_30_days` in force for L on that day.

Reads the delivery ledger's per-day sets; an organisation whose lookups in a window are no
more than the smallest threshold cannot trip it and is skipped without any intersection.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from pyroaring import BitMap64

from tollhouse.compliance.findings.context import EvaluationContext
from tollhouse.compliance.findings.finding import Candidate, Grade
from tollhouse.compliance.findings.rules.signals import (
    DAY,
    app_name,
    at_day,
    iso,
    severity,
    spans,
)
from tollhouse.compliance.findings.sources import OrgFacts

RULE = "redistribution.id_containment"


def _threshold(org: OrgFacts, day: date) -> int | None:
    version = org.agreement.at(at_day(day) + DAY - timedelta(microseconds=1))
    if version is None:
        return None
    value = version.terms.get("redistribution_post_ids_per_30_days")
    return None if value is None else int(value)


def _union(days: dict[date, BitMap64], first: date, last: date) -> BitMap64:
    out = BitMap64()
    for day, bitmap in days.items():
        if first <= day <= last:
            out |= bitmap
    return out


@dataclass(frozen=True)
class _Over:
    total: int
    limit: int
    by_app: dict[int, int]
    ids: BitMap64


def evaluate(ctx: EvaluationContext) -> Iterator[Candidate]:
    p = ctx.params(RULE)
    window = int(p.get("window_days", 30))
    lookback = int(p.get("lookback_days", 60))
    sev = severity(ctx, RULE, "critical")
    thresholds = [
        t for o in ctx.all_orgs for d in (ctx.first_day, ctx.end_day) if (t := _threshold(o, d))
    ]
    if not thresholds:
        return
    floor = min(thresholds)
    first_day = ctx.first_day - timedelta(days=window + lookback)
    lookups: dict[int, dict[date, BitMap64]] = defaultdict(dict)
    found: dict[int, dict[date, BitMap64]] = defaultdict(dict)
    held: dict[int, dict[int, dict[date, BitMap64]]] = defaultdict(lambda: defaultdict(dict))
    for d in ctx.sources.deliveries.deliveries(None, first_day, ctx.end_day):
        target = lookups if d.kind == "lookup" else found
        target[d.org_id][d.day] = target[d.org_id].get(d.day, BitMap64()) | d.posts
        by_day = held[d.org_id][d.app_id]
        by_day[d.day] = by_day.get(d.day, BitMap64()) | d.posts
    orgs = {o.id: o for o in ctx.all_orgs}
    in_scope = [o for o in ctx.orgs if o.id in held]
    days = [ctx.first_day + timedelta(days=i) for i in range((ctx.end_day - ctx.first_day).days)]
    for m_id, m_days in lookups.items():
        over: dict[int, list[tuple[date, _Over]]] = defaultdict(list)
        for day in days:
            start = day - timedelta(days=window - 1)
            # A union is never larger than the sum of its parts: most organisations stop here.
            if sum(len(b) for d, b in m_days.items() if start <= d <= day) <= floor:
                continue
            asked = _union(m_days, start, day)
            if len(asked) <= floor:
                continue
            asked -= _union(found.get(m_id, {}), first_day, day)
            if len(asked) <= floor:
                continue
            for l_org in in_scope:
                limit = _threshold(l_org, day)
                if l_org.id == m_id or limit is None:
                    continue
                since = day - timedelta(days=window - 1 + lookback)
                priors = {a: _union(b, since, day) for a, b in held[l_org.id].items()}
                everything = BitMap64()
                for prior in priors.values():
                    everything |= prior
                total = asked.intersection_cardinality(everything)
                if total > limit:
                    by_app = {a: asked.intersection_cardinality(b) for a, b in priors.items()}
                    over[l_org.id].append((day, _Over(total, limit, by_app, asked & everything)))
        for l_id, exceeding in over.items():
            l_org = orgs[l_id]
            for first, after, run in spans(exceeding):
                peak = max(run, key=lambda o: o.total)
                yield Candidate(
                    rule=RULE, org_id=l_id, subject=f"to:{m_id}", period_start=at_day(first),
                    period_end=at_day(after), severity=sev, grade=Grade.PROBABLE,
                    evidence={
                        "recipient": orgs[m_id].name if m_id in orgs else str(m_id),
                        "counts": {"post_ids": peak.total, "limit": peak.limit,
                                   "by_app": {app_name(l_org, a): n
                                              for a, n in sorted(peak.by_app.items()) if n}},
                        "window_days": window, "first_day_over": iso(first),
                        "window_of_first_day": [iso(first - timedelta(days=window - 1)),
                                                iso(first)],
                        "sample_post_ids": [str(i) for i in _first(peak.ids, 5)],
                        "sample_request_ids": _requests(ctx, m_id, peak.ids, first, window),
                    },
                )  # fmt: skip


def _first(bitmap: BitMap64, n: int) -> list[int]:
    out = []
    for value in bitmap:
        out.append(value)
        if len(out) >= n:
            break
    return out


def _requests(
    ctx: EvaluationContext, org_id: int, ids: BitMap64, day: date, window: int
) -> list[str]:
    if not ids:
        return []
    start = at_day(day - timedelta(days=window - 1))
    found = ctx.sources.deliveries.requests_delivering(
        org_id, _first(ids, 1)[0], start, at_day(day) + DAY, 3
    )
    return [request_id for request_id, _ in found]
