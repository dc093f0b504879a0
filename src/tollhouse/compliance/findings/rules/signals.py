"""What several rules compute the same way: months and episodes, plan capacity, search
parameters and query terms, saturated hours."""

from __future__ import annotations

import itertools
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar
from urllib.parse import parse_qs

from tollhouse.compliance.findings.context import EvaluationContext
from tollhouse.compliance.findings.finding import Severity
from tollhouse.compliance.findings.sources import OrgFacts

T = TypeVar("T")
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
FULL_ARCHIVE = "/2/tweets/search/all"
SAMPLE = 5


def at_day(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def month_of(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def months(start: date, end: date) -> list[date]:
    """First days of the months that [start, end) touches."""
    out, m = [], month_of(start)
    while m < end:
        out.append(m)
        m = next_month(m)
    return out


def severity(ctx: EvaluationContext, rule: str, default: str = "medium") -> Severity:
    return Severity(str(ctx.params(rule).get("severity", default)))


def episodes(points: Iterable[T], step: timedelta, key: Any = None) -> list[list[T]]:
    """Consecutive runs (each point `step` after the last) of sorted points."""
    ordered = sorted(points, key=key)
    runs: list[list[T]] = []
    last: Any = None
    for p in ordered:
        moment = key(p) if key else p
        if runs and last is not None and moment - last <= step:
            runs[-1].append(p)
        else:
            runs.append([p])
        last = moment
    return runs


def hourly_capacity(plan: Mapping[str, Any], endpoint: str) -> float | None:
    """Requests an hour the plan's tightest window on `endpoint` allows (None: no limit)."""
    limits = plan.get("rate_limits", {}).get(endpoint) or ()
    rates = [
        float(r["requests"]) * 3600.0 / float(r["window_seconds"])
        for r in limits
        if r.get("window_seconds")
    ]
    return min(rates) if rates else None


@dataclass(frozen=True, slots=True)
class Search:
    query: str
    start_time: datetime | None
    end_time: datetime | None


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_search(query_string: str | None) -> Search:
    args = parse_qs(query_string or "", keep_blank_values=True)

    def one(name: str) -> str | None:
        values = args.get(name)
        return values[0] if values else None

    return Search(one("query") or "", _time(one("start_time")), _time(one("end_time")))


_TOKEN = re.compile(r'-?"[^"]*"|\S+')
_ACCOUNT = re.compile(r"^(?:from|to|retweets_of):@?([A-Za-z0-9_]{1,50})$|^@([A-Za-z0-9_]{1,50})$")
_OPERATOR = re.compile(r"^-?[a-z_]+:")


def terms(query: str) -> list[str]:
    """The positive free-text terms of a query (operators, negations, OR and brackets left
    out): how specific it is."""
    out = []
    for token in _TOKEN.findall(query.replace("(", " ").replace(")", " ")):
        if (
            token == "OR"
            or token.startswith("-")
            or _OPERATOR.match(token)
            or token.startswith("@")
        ):
            continue
        out.append(token.strip('"').lower())
    return [t for t in out if t]


def accounts(query: str) -> set[str]:
    """Accounts a query targets by `from:`, `to:`, `retweets_of:` or `@name`."""
    found = set()
    for token in _TOKEN.findall(query.replace("(", " ").replace(")", " ")):
        m = _ACCOUNT.match(token)
        if m:
            found.add((m.group(1) or m.group(2)).lower())
    return found


def inter_arrival_cv(times: Sequence[datetime]) -> float | None:
    """Coefficient of variation of the gaps between sorted times (None below 20 of them)."""
    if len(times) < 20:
        return None
    ordered = sorted(times)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(ordered)]
    mean = statistics.fmean(gaps)
    if mean <= 0:
        return 0.0
    return statistics.pstdev(gaps) / mean


def saturation(
    ctx: EvaluationContext, org: OrgFacts
) -> dict[tuple[int, str], list[tuple[datetime, float]]]:
    """{(app, endpoint): [(hour, share of the hourly capacity used)]} over the period, computed
    once per organisation and run (limit saturation and harvesting both read it)."""
    memo_key = ("saturation", org.id)
    if memo_key in ctx.memo:
        cached: dict[tuple[int, str], list[tuple[datetime, float]]] = ctx.memo[memo_key]
        return cached
    out: dict[tuple[int, str], list[tuple[datetime, float]]] = defaultdict(list)
    capacity: dict[str, float | None] = {}
    for row in ctx.sources.usage.hourly(org.id, ctx.start, ctx.end):
        if row.endpoint not in capacity:
            capacity[row.endpoint] = hourly_capacity(org.plan, row.endpoint)
        cap = capacity[row.endpoint]
        if cap:
            out[(row.app_id, row.endpoint)].append((row.hour, row.requests / cap))
    ctx.memo[memo_key] = out
    return out


def sample(values: Iterable[T], n: int = SAMPLE) -> list[T]:
    out = []
    for v in values:
        out.append(v)
        if len(out) >= n:
            break
    return out


def iso(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        # Microseconds: a first use and an approval may fall in the same second.
        return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    return value.isoformat()


def spans(items: Iterable[tuple[date, T]]) -> Iterator[tuple[date, date, list[T]]]:
    """Runs of consecutive days: (first day, day after the last, the items)."""
    for run in episodes(list(items), DAY, key=lambda p: p[0]):
        yield run[0][0], run[-1][0] + DAY, [v for _, v in run]


@dataclass
class Tally:
    """Requests and posts of something over days, with its first and last day."""

    requests: int = 0
    posts: int = 0
    first: date = date.max
    last: date = date.min

    def add(self, day: date, requests: int, posts: int) -> None:
        self.requests += requests
        self.posts += posts
        self.first = min(self.first, day)
        self.last = max(self.last, day)


TICK = timedelta(microseconds=1)


def app_name(org: OrgFacts, app_id: int | None) -> str:
    app = org.app(app_id)
    return app.name if app is not None else str(app_id)
