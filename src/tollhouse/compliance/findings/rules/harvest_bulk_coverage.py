"""`harvest.bulk_coverage`: bulk harvesting or model-training signs, per app and month.

Signals: distinct/total posts near 1 (nothing re-read: the delivery ledger's exact sets over the
rollups' totals); full-archive searches tiling adjacent time windows with broad queries; the rate
window saturated most hours of the day; near-constant gaps between searches. It fires when the
uniqueness signal and at least `min_signals - 1` others hold; a monitor re-reading the same
posts never does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime

from pyroaring import BitMap64

from tollhouse.compliance.findings.context import EvaluationContext
from tollhouse.compliance.findings.finding import Candidate, Grade
from tollhouse.compliance.findings.rules.signals import (
    DAY,
    FULL_ARCHIVE,
    Search,
    at_day,
    inter_arrival_cv,
    month_of,
    next_month,
    parse_search,
    saturation,
    severity,
    terms,
)
from tollhouse.compliance.findings.sources import OrgFacts

RULE = "harvest.bulk_coverage"


def evaluate(ctx: EvaluationContext) -> Iterator[Candidate]:
    p = ctx.params(RULE)
    min_posts = int(p.get("min_posts", 100_000))
    uniqueness_min = float(p.get("uniqueness", 0.95))
    tiling_min = float(p.get("tiling", 0.8))
    broad_max = int(p.get("broad_max_terms", 1))
    sat_hours = float(p.get("saturation_hours", 20))
    max_cv = float(p.get("max_cv", 0.2))
    min_signals = int(p.get("min_signals", 2))
    sev = severity(ctx, RULE, "high")
    for org in ctx.orgs:
        totals: dict[tuple[int, date], int] = defaultdict(int)
        last: dict[tuple[int, date], date] = {}
        for row in ctx.sources.usage.daily(org.id, ctx.first_day, ctx.end_day):
            key = (row.app_id, month_of(row.day))
            totals[key] += row.posts
            last[key] = max(last.get(key, row.day), row.day)
        heavy = {k for k, v in totals.items() if v >= min_posts}
        if not heavy:
            continue
        distinct: dict[tuple[int, date], BitMap64] = defaultdict(BitMap64)
        for d in ctx.sources.deliveries.deliveries(org.id, ctx.first_day, ctx.end_day):
            key = (d.app_id, month_of(d.day))
            if key in heavy:
                distinct[key] |= d.posts
        searches: dict[tuple[int, date], list[tuple[datetime, Search]]] = defaultdict(list)
        for q in ctx.sources.usage.queries(org.id, ctx.start, ctx.end):
            key = (q.app_id, month_of(q.at.date()))
            if key in heavy and q.endpoint == FULL_ARCHIVE:
                searches[key].append((q.at, parse_search(q.query_string)))
        hot_hours = _saturated_hours_per_day(ctx, org)
        for key in sorted(heavy):
            app_id, month = key
            uniqueness = len(distinct[key]) / totals[key]
            if uniqueness < uniqueness_min:
                continue
            signals = {"uniqueness": round(uniqueness, 4)}
            tiling, broad, windows = _tiling(searches[key], broad_max)
            if windows >= 10 and tiling >= tiling_min and broad >= tiling_min:
                signals["tiling"] = round(tiling, 4)
                signals["broad_queries"] = round(broad, 4)
            days = hot_hours.get(app_id, {})
            month_days = [h for d, h in days.items() if month_of(d) == month]
            if month_days and sum(month_days) / len(month_days) >= sat_hours:
                signals["saturated_hours_per_day"] = round(sum(month_days) / len(month_days), 2)
            cv = inter_arrival_cv([t for t, _ in searches[key]])
            if cv is not None and cv <= max_cv:
                signals["inter_arrival_cv"] = round(cv, 4)
            if len(signals) < min_signals:
                continue
            sample_ids = [int(i) for i in _first(distinct[key], 5)]
            yield Candidate(
                rule=RULE, org_id=org.id, app_id=app_id, period_start=at_day(month),
                period_end=at_day(min(next_month(month), last[key] + DAY)), severity=sev,
                grade=Grade.PROBABLE if len(signals) >= 3 else Grade.INDICATOR,
                evidence={"signals": signals,
                          "counts": {"posts": totals[key], "distinct_posts": len(distinct[key]),
                                     "full_archive_searches": len(searches[key]),
                                     "search_windows": windows},
                          "sample_post_ids": [str(i) for i in sample_ids]},
            )  # fmt: skip


def _first(bitmap: BitMap64, n: int) -> list[int]:
    out = []
    for value in bitmap:
        out.append(value)
        if len(out) >= n:
            break
    return out


def _tiling(searches: list[tuple[datetime, Search]], broad_max: int) -> tuple[float, float, int]:
    """(share of distinct time windows that touch another end to start, share of searches with
    broad queries, distinct windows)."""
    windows = {(s.start_time, s.end_time) for _, s in searches if s.start_time and s.end_time}
    if not windows:
        return 0.0, 0.0, 0
    starts = {w[0] for w in windows}
    ends = {w[1] for w in windows}
    touching = sum(1 for a, b in windows if a in ends or b in starts)
    broad = sum(1 for _, s in searches if len(terms(s.query)) <= broad_max)
    return touching / len(windows), broad / len(searches), len(windows)


def _saturated_hours_per_day(ctx: EvaluationContext, org: OrgFacts) -> dict[int, dict[date, int]]:
    threshold = float(ctx.params("volume.limit_saturation").get("saturation", 0.95))
    out: dict[int, dict[date, set[datetime]]] = defaultdict(lambda: defaultdict(set))
    for (app_id, _), hours in saturation(ctx, org).items():
        for hour, share in hours:
            if share >= threshold:
                out[app_id][hour.date()].add(hour)
    return {a: {d: len(h) for d, h in days.items()} for a, days in out.items()}
