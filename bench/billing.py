"""Billing: a year of the heaviest licensee rated into 12 invoices, a monthly run for many
organisations, and what the prepaid balance check adds to an edge decision.

1. year     bench/metering.py's synthetic year (8 apps x 10 endpoints, hourly and daily rollups
            summing to 780 M requests and 26 B posts) rated by `billing run` into 12 finalized
            invoices, on SQLite and PostgreSQL. Peer: a naive rater reading raw usage events
            row by row in Python; it is timed on a sample of raw events spread over the year
            and its time scaled to 780 M events (no database holds a year of raw events here).
2. monthly  N organisations (10 000; --quick 500), each with a month of daily rollups, rated and
            finalized by one `billing run`.
3. balance  a prepaid organisation's edge decision (limits' admit + the balance check) against
            the same decision for a plan that is not prepaid, memory backend.

Usage: .venv/bin/python bench/billing.py [--quick] [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import platform
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.limits.conftest import ENDPOINT, Caller, make_plan

import metering as metering_bench
from tollhouse.access.models import organisations
from tollhouse.access.plans import default_plans
from tollhouse.access.service import AccessService
from tollhouse.api.middleware.limits import admit_step
from tollhouse.billing.charges import total
from tollhouse.billing.models import subscriptions
from tollhouse.billing.organisations import AccessOrganisations, OrgRef
from tollhouse.billing.periods import period_containing
from tollhouse.billing.prices import default_price_book
from tollhouse.billing.service import BillingService
from tollhouse.billing.usage import RollupUsage
from tollhouse.db import create_engine
from tollhouse.limits.balance import MemoryBalances
from tollhouse.limits.memory import MemoryLimits
from tollhouse.limits.service import LimitsService
from tollhouse.metering.models import usage_events, usage_rollups_daily

YEAR = datetime(2025, 1, 1, tzinfo=UTC)


@dataclasses.dataclass
class FastOrganisations:
    """Organisations straight from access's table (the run's own lookups are what is timed)."""

    engine: Any

    def _ref(self, r: Any) -> OrgRef:
        created = r.created_at if r.created_at.tzinfo else r.created_at.replace(tzinfo=UTC)
        return OrgRef(r.id, r.name, r.plan_name, r.billing_day, created)

    def by_name(self, name: str) -> OrgRef:
        with self.engine.connect() as conn:
            o = organisations.c
            return self._ref(conn.execute(sa.select(organisations).where(o.name == name)).one())

    def all(self) -> list[OrgRef]:
        with self.engine.connect() as conn:
            return [self._ref(r) for r in conn.execute(sa.select(organisations))]

    def set_plan(self, name: str, plan: str, actor: str) -> None:
        raise AssertionError("no plan changes in the bench")


def bench_year(url: str, days: int, raw_sample: int) -> dict[str, Any]:
    _, build_s = metering_bench.build_year(url, days, raw_fraction=10**9, sketch_posts=100)
    engine = create_engine(url)
    access = AccessService(engine)
    access.load_plans(default_plans(), "bench")
    access.set_org_plan("heavy-licensee", "enterprise", "bench")
    svc = BillingService(engine, RollupUsage(engine), AccessOrganisations(access))
    svc.start("heavy-licensee", YEAR, "bench")
    t0 = time.perf_counter()
    summary = svc.run(as_of=YEAR + timedelta(days=days + 2))
    rate_s = time.perf_counter() - t0
    finalized = len(summary.finalized)
    invoices = svc.invoices("heavy-licensee")
    billed = sum((v.total for v in invoices), Decimal(0))
    org_id = invoices[0].snapshot["org"]["id"]
    # The naive peer: raw events, row by row, each put in its period and summed, then rated.
    rng = random.Random(3)
    span = days * 86400
    rows = [
        {
            "request_id": f"b{i:012d}",
            "occurred_at": YEAR + timedelta(seconds=rng.randrange(span)),
            "org_id": org_id, "app_id": 1, "key_id": "k", "endpoint": "/2/tweets/search/all",
            "method": "GET", "status": 200, "posts": 33, "new_posts": 11, "bytes": 1,
            "duration_us": 1, "client_ip": None, "user_agent": None, "end_user": None,
            "end_user_id": None,
        }
        for i in range(raw_sample)
    ]  # fmt: skip
    with engine.begin() as conn:
        for i in range(0, len(rows), 20_000):
            conn.execute(usage_events.insert(), rows[i : i + 20_000])
    book = default_price_book()
    price = book.in_force("enterprise", YEAR)
    assert price.overage is not None
    t0 = time.perf_counter()
    per_period: dict[datetime, int] = {}
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True).execute(
            sa.select(
                usage_events.c.occurred_at, usage_events.c.status, usage_events.c.new_posts
            ).where(usage_events.c.org_id == org_id)
        )
        for occurred_at, status, new_posts in result:
            if not 200 <= status < 300:
                continue
            at = occurred_at if occurred_at.tzinfo else occurred_at.replace(tzinfo=UTC)
            p = period_containing(at, 1)
            per_period[p.start] = per_period.get(p.start, 0) + new_posts
    peer_amount = sum(
        (price.monthly_fee + total(price.overage, max(0, q - price.included_posts))
         for q in per_period.values()),
        Decimal(0),
    )  # fmt: skip
    peer_s = (time.perf_counter() - t0) * (780_000_000 * days / 365) / raw_sample
    assert peer_amount > 0
    engine.dispose()
    return {
        "build_s": build_s, "rate_s": rate_s, "finalized": finalized, "billed": billed,
        "peer_s": peer_s, "peer_sample": raw_sample,
    }  # fmt: skip


def bench_monthly(url: str, n_orgs: int) -> dict[str, Any]:
    engine = create_engine(url)
    access = AccessService(engine)
    access.install_defaults("bench")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            organisations.insert(),
            [
                {"name": f"org-{i:05d}", "plan_name": ("basic", "pro", "enterprise")[i % 3],
                 "status": "active", "status_reason": None, "billing_day": 1, "contacts": [],
                 "created_at": now, "updated_at": now}
                for i in range(n_orgs)
            ],
        )  # fmt: skip
        ids = [r[0] for r in conn.execute(sa.select(organisations.c.id))]
        conn.execute(
            subscriptions.insert(),
            [
                {"org_id": i, "plan": ("basic", "pro", "enterprise")[(i - 1) % 3],
                 "effective_at": datetime(2025, 12, 1, tzinfo=UTC), "change": "start",
                 "applied": True, "created_at": now}
                for i in ids
            ],
        )  # fmt: skip
        rows = []
        for i in ids:
            for d in range(31):
                rows.append(
                    {"org_id": i, "day": (datetime(2025, 12, 1) + timedelta(days=d)).date(),
                     "app_id": i, "endpoint": "/2/tweets/search/recent", "status_class": 2,
                     "requests": 1000, "posts": 2_000_000, "new_posts": 1_800_000,
                     "bytes": 1, "errors": 0}
                )  # fmt: skip
            if len(rows) > 50_000:
                conn.execute(usage_rollups_daily.insert(), rows)
                rows = []
        if rows:
            conn.execute(usage_rollups_daily.insert(), rows)
    svc = BillingService(engine, RollupUsage(engine), FastOrganisations(engine))
    svc.price_book()
    t0 = time.perf_counter()
    summary = svc.run(as_of=datetime(2026, 1, 3, tzinfo=UTC))
    run_s = time.perf_counter() - t0
    engine.dispose()
    return {"orgs": n_orgs, "run_s": run_s, "finalized": len(summary.finalized)}


async def _decisions(service: LimitsService, caller: Caller, n: int) -> float:
    scope: dict[str, Any] = {}
    t0 = time.perf_counter()
    for _ in range(n):
        scope.clear()
        await admit_step(service, caller, ENDPOINT, True, scope)
    return (time.perf_counter() - t0) / n * 1e6


def bench_balance(n: int) -> dict[str, float]:
    balances = MemoryBalances()
    service = LimitsService(MemoryLimits(), balances=balances, reserve=0)
    plain = Caller(1, 11, make_plan(windows=((10**9, 900),)))
    prepaid = Caller(2, 12, dataclasses.replace(plain.plan, prepaid=True))
    balances.credit(2, Decimal(10**6), Decimal("0.005"), Decimal("0.010"))

    async def both() -> tuple[float, float]:
        best_plain = best_prepaid = float("inf")
        for _ in range(7):  # interleaved, best of 7
            best_plain = min(best_plain, await _decisions(service, plain, n))
            best_prepaid = min(best_prepaid, await _decisions(service, prepaid, n))
        return best_plain, best_prepaid

    p, q = asyncio.run(both())
    return {"plain_us": p, "prepaid_us": q, "added_us": q - p}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--orgs", type=int, help="organisations in the monthly run")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if "postgresql" in backends and not os.environ.get("TOLLHOUSE_TEST_DATABASE_URL"):
        backends.remove("postgresql")
        print("PostgreSQL skipped: TOLLHOUSE_TEST_DATABASE_URL not set")
    days = 62 if args.quick else 365
    n_orgs = args.orgs or (500 if args.quick else 10_000)
    raw = 20_000 if args.quick else 300_000
    machine = platform.processor() or platform.machine()
    print(
        f"{machine}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            with metering_bench.database(backend, Path(tmp)) as url:
                r = bench_year(url, days, raw)
            print(
                f"{backend} year ({days} days): rated {r['finalized']} invoices in "
                f"{r['rate_s']:.3f} s (target <= 2 s; billed {r['billed']}); naive peer "
                f"{r['peer_s']:.1f} s scaled from {r['peer_sample']:,} raw events; ratio "
                f"{r['rate_s'] / r['peer_s']:.5f}; (year built in {r['build_s']:.0f} s)"
            )
            with metering_bench.database(backend, Path(tmp)) as url:
                m = bench_monthly(url, n_orgs)
            print(
                f"{backend} monthly run: {m['orgs']:,} organisations, {m['finalized']:,} "
                f"invoices finalized in {m['run_s']:.1f} s (target <= 60 s for 10 000)"
            )
    b = bench_balance(2_000 if args.quick else 20_000)
    print(
        f"balance check (memory): edge decision {b['plain_us']:.2f} µs, prepaid "
        f"{b['prepaid_us']:.2f} µs, added {b['added_us']:.2f} µs (target <= 10 µs)"
    )


if __name__ == "__main__":
    main()
