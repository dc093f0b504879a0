"""Compliance benchmark: every findings rule over a year of the heaviest licensee, and over a
month of 1 000 ordinary organisations.

    .venv/bin/python bench/compliance.py [--quick]

The rules read aggregates through the findings sources' Protocols (sources.py): daily and
hourly rollups, per key, day, network and agent counts, search query strings, delivery-ledger
bitmaps (per organisation, app and day). Here those aggregates are synthetic and in memory,
shaped like the motivating year (8 apps, 780 M requests, ≈ 71 M posts delivered a day): what is
timed is the rules and the register (findings stored in a migrated SQLite file), not reading
the usage store. Targets: ≤ 60 s each.
"""

from __future__ import annotations

import argparse
import platform
import random
import tempfile
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from pyroaring import BitMap64

from tollhouse.access.agreements import default_agreement
from tollhouse.access.plans import default_plans
from tollhouse.compliance.findings.config import load_rules
from tollhouse.compliance.findings.context import Sources
from tollhouse.compliance.findings.evaluate import evaluate
from tollhouse.compliance.findings.sources import (
    AppFacts,
    DailyUse,
    DeletionObligation,
    Delivery,
    EndUserFacts,
    EndUserUse,
    HourlyUse,
    KeyNetworkDay,
    NetworkUse,
    OrgFacts,
    QueryUse,
)
from tollhouse.compliance.findings.terms import AgreementTimeline, VersionInForce
from tollhouse.db import create_engine
from tollhouse.migrations.runner import upgrade

UTC0 = datetime(2022, 1, 1, tzinfo=UTC)
ENDPOINTS = ("/2/tweets", "/2/tweets/search/all", "/2/tweets/search/recent", "/2/users/:id/tweets")


class Synthetic:
    """All the sources at once, over in-memory aggregates."""

    def __init__(self) -> None:
        self.facts: list[OrgFacts] = []
        self.daily_rows: dict[int, list[DailyUse]] = {}
        self.hourly_rows: dict[int, list[HourlyUse]] = {}
        self.key_rows: dict[int, list[KeyNetworkDay]] = {}
        self.query_rows: dict[int, list[QueryUse]] = {}
        self.delivery_rows: dict[int, list[Delivery]] = {}
        self.obligation_rows: dict[int, list[DeletionObligation]] = {}
        self.end_user_rows: dict[int, list[EndUserUse]] = {}

    # Licensees
    def orgs(self, names: Sequence[str] | None) -> list[OrgFacts]:
        return [o for o in self.facts if names is None or o.name in names]

    def canaries(self) -> dict[int, int]:
        return {7_000_000_000_001: self.facts[0].id}

    # UsageSource
    def daily(self, org_id: int, start: date, end: date) -> list[DailyUse]:
        return [r for r in self.daily_rows.get(org_id, ()) if start <= r.day < end]

    def hourly(self, org_id: int, start: datetime, end: datetime) -> list[HourlyUse]:
        return [r for r in self.hourly_rows.get(org_id, ()) if start <= r.hour < end]

    def key_networks(self, org_id: int | None, start: date, end: date) -> list[KeyNetworkDay]:
        rows: Iterable[KeyNetworkDay] = (
            [r for rs in self.key_rows.values() for r in rs]
            if org_id is None
            else self.key_rows.get(org_id, ())
        )
        return [r for r in rows if start <= r.day < end]

    def queries(self, org_id: int, start: datetime, end: datetime) -> list[QueryUse]:
        return [q for q in self.query_rows.get(org_id, ()) if start <= q.at < end]

    def end_users(self, org_id: int, start: datetime, end: datetime) -> list[EndUserUse]:
        return [u for u in self.end_user_rows.get(org_id, ()) if start <= u.first_at < end]

    def networks(
        self, org_id: int, start: datetime, end: datetime, within: Sequence[str]
    ) -> list[NetworkUse]:
        return []

    # DeliveredPosts
    def deliveries(self, org_id: int | None, start: date, end: date) -> Iterable[Delivery]:
        rows: Iterable[Delivery] = (
            [d for ds in self.delivery_rows.values() for d in ds]
            if org_id is None
            else self.delivery_rows.get(org_id, ())
        )
        return [d for d in rows if start <= d.day < end]

    def requests_delivering(
        self, org_id: int, post_id: int, start: datetime, end: datetime, limit: int = 5
    ) -> list[tuple[str, datetime]]:
        for d in self.delivery_rows.get(org_id, ()):
            if start.date() <= d.day < end.date() and post_id in d.posts:
                return [
                    (f"req-{org_id}-{d.day}", datetime.combine(d.day, datetime.min.time(), UTC))
                ]
        return []

    # Obligations
    def obligations(self, org_id: int, start: datetime, end: datetime) -> list[DeletionObligation]:
        return [o for o in self.obligation_rows.get(org_id, ()) if start <= o.event_at < end]


def _org(org_id: int, name: str, n_apps: int, plan: dict[str, object]) -> OrgFacts:
    terms = default_agreement().terms.model_dump()
    version = VersionInForce("2026-01", terms, UTC0 - timedelta(days=400), True)
    apps = tuple(
        AppFacts(
            org_id * 100 + i, f"{name} app {i}", ("search_and_analytics",) if i < 2 else (), UTC0
        )
        for i in range(n_apps)
    )
    return OrgFacts(
        id=org_id, name=name, plan=plan, apps=apps,
        end_users=(EndUserFacts(org_id, f"{name} agency", "government", None, UTC0),),
        keys={f"k{a.id}": a.id for a in apps},
        agreement=AgreementTimeline((version,), (version,)),
    )  # fmt: skip


def heavy_licensee(src: Synthetic, days: int, rng: random.Random) -> int:
    """The motivating year: 8 apps, ≈ 2.1 M requests and 71 M posts a day; returns requests."""
    plan = next(p for p in default_plans() if p.name == "enterprise").to_dict()
    org = _org(1, "Heavy", 8, plan)
    src.facts.append(org)
    per_app_day = 2_137_000 // 8
    daily, hourly, keys, queries, deliveries, obligations = [], [], [], [], [], []
    next_post = 1_500_000_000_000_000_000
    total = 0
    for d in range(days):
        day = UTC0.date() + timedelta(days=d)
        for app in org.apps:
            for i, endpoint in enumerate(ENDPOINTS):
                requests = per_app_day // len(ENDPOINTS) + (i == 0) * (per_app_day % len(ENDPOINTS))
                total += requests
                daily.append(
                    DailyUse(day, app.id, endpoint, requests, requests * 33, requests // 200)
                )
                for h in range(24):
                    hour = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=h)
                    hourly.append(HourlyUse(hour, app.id, endpoint, requests // 24))
            for n in range(4):
                keys.append(
                    KeyNetworkDay(
                        day,
                        org.id,
                        app.id,
                        f"k{app.id}",
                        f"20.{app.id % 200}.{n}.0/24",
                        "svc/1",
                        per_app_day // 4,
                        f"r{d}{n}",
                    )
                )
            # A sample of the searches (one an hour per app) with their query strings.
            for h in range(24):
                at = datetime.combine(day, datetime.min.time(), UTC) + timedelta(
                    hours=h, minutes=rng.randrange(60)
                )
                qs = urlencode(
                    {
                        "query": "lang:en",
                        "start_time": f"{at - timedelta(days=30):%Y-%m-%dT%H:%M:%SZ}",
                    }
                )
                queries.append(
                    QueryUse(
                        f"q{d}-{app.id}-{h}", at, app.id, f"k{app.id}", "/2/tweets/search/all", qs
                    )
                )
            # The ledger's day for this app: ≈ 8.9 M posts as a few runs of ids.
            bitmap = BitMap64()
            for _ in range(4):
                start = next_post + rng.randrange(0, 50_000_000)
                bitmap.add_range(start, start + 2_200_000)
            next_post += 20_000_000
            deliveries.append(Delivery(org.id, app.id, day, "found", bitmap))
        for k in range(30):
            event_at = datetime.combine(day, datetime.min.time(), UTC) + timedelta(minutes=k)
            obligations.append(
                DeletionObligation(org.id, next_post + k, event_at, None if k % 3 else event_at, 24)
            )
    src.daily_rows[org.id] = daily
    src.hourly_rows[org.id] = hourly
    src.key_rows[org.id] = keys
    src.query_rows[org.id] = queries
    src.delivery_rows[org.id] = deliveries
    src.obligation_rows[org.id] = obligations
    return total


def ordinary_orgs(src: Synthetic, n: int, days: int, rng: random.Random) -> int:
    plan = next(p for p in default_plans() if p.name == "pro").to_dict()
    total = 0
    for i in range(n):
        org = _org(10 + i, f"Org {i}", rng.randrange(1, 4), plan)
        src.facts.append(org)
        daily, hourly, keys, queries, deliveries = [], [], [], [], []
        for d in range(days):
            day = UTC0.date() + timedelta(days=d)
            midnight = datetime.combine(day, datetime.min.time(), UTC)
            for app in org.apps:
                for endpoint in ENDPOINTS[:2]:
                    requests = rng.randrange(100, 3000)
                    total += requests
                    daily.append(DailyUse(day, app.id, endpoint, requests, requests * 20, 3))
                    for h in range(24):
                        hourly.append(
                            HourlyUse(
                                midnight + timedelta(hours=h), app.id, endpoint, requests // 24
                            )
                        )
                for n_ in range(2):
                    keys.append(
                        KeyNetworkDay(
                            day,
                            org.id,
                            app.id,
                            f"k{app.id}",
                            f"100.{i % 250}.{n_}.0/24",
                            "client/1",
                            requests // 2,
                            f"r{i}{d}{n_}",
                        )
                    )
                for q in range(5):
                    qs = urlencode({"query": f"topic{q} brand{i}"})
                    queries.append(
                        QueryUse(
                            f"q{i}{d}{q}",
                            midnight + timedelta(hours=q * 4),
                            app.id,
                            f"k{app.id}",
                            "/2/tweets/search/recent",
                            qs,
                        )
                    )
                base = 10**15 + i * 10**9 + d * 10**5
                deliveries.append(
                    Delivery(org.id, app.id, day, "found", BitMap64(range(base, base + 2000)))
                )
                deliveries.append(
                    Delivery(org.id, app.id, day, "lookup", BitMap64(range(base, base + 500)))
                )
        src.daily_rows[org.id] = daily
        src.hourly_rows[org.id] = hourly
        src.key_rows[org.id] = keys
        src.query_rows[org.id] = queries
        src.delivery_rows[org.id] = deliveries
    return total


def run(label: str, src: Synthetic, days: int, workdir: Path) -> float:
    engine = create_engine(f"sqlite:///{workdir / (label + '.db')}")
    upgrade(engine, usage_url=f"sqlite:///{workdir / (label + '-usage.db')}")
    sources = Sources(src, src, src, src)
    end = UTC0 + timedelta(days=days)
    started = time.perf_counter()
    result = evaluate(engine, sources, load_rules(), "bench", start=UTC0, end=end, now=end)
    elapsed = time.perf_counter() - started
    again = time.perf_counter()
    second = evaluate(engine, sources, load_rules(), "bench", start=UTC0, end=end, now=end)
    elapsed_again = time.perf_counter() - again
    engine.dispose()
    print(
        f"{label}: {elapsed:.1f} s for all {len(result.rules)} rules, {result.created} findings"
        f" {dict(sorted(result.by_rule.items()))}; re-run {elapsed_again:.1f} s"
        f" ({second.unchanged} unchanged, {second.created} new)"
    )
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a month and 100 organisations")
    args = parser.parse_args()
    rng = random.Random(18)
    year_days = 30 if args.quick else 365
    orgs = 100 if args.quick else 1000
    print(
        f"{platform.node()} {platform.processor() or platform.machine()},"
        f" Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        heavy = Synthetic()
        t = time.perf_counter()
        requests = heavy_licensee(heavy, year_days, rng)
        print(f"heavy licensee: {requests / 1e6:.0f} M requests over {year_days} days, 8 apps"
              f" (aggregates built in {time.perf_counter() - t:.1f} s)")  # fmt: skip
        heavy_s = run("heavy", heavy, year_days, Path(tmp))
        many = Synthetic()
        t = time.perf_counter()
        requests = ordinary_orgs(many, orgs, 30, rng)
        print(f"{orgs} ordinary organisations: {requests / 1e6:.0f} M requests over 30 days"
              f" (aggregates built in {time.perf_counter() - t:.1f} s)")  # fmt: skip
        many_s = run("ordinary", many, 30, Path(tmp))
    print(f"targets ≤ 60 s: heavy {'met' if heavy_s <= 60 else 'NOT met'},"
          f" ordinary {'met' if many_s <= 60 else 'NOT met'}")  # fmt: skip


if __name__ == "__main__":
    main()
