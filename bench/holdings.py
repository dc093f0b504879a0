"""Holdings: the delivery ledger's cost at ingest, an exact year of distinct posts, and a batch
compliance job at X's upload limit.

    .venv/bin/python bench/holdings.py [--quick] [--backend sqlite|postgresql|both]

1. ingest   usage events/s through `record_events` (rows, rollups, HLL sketches) with the
            ledger on vs off (its `record` replaced by a no-op), 10 snowflake post ids and 2 user
            ids per event, batches of 2,000; ratio = on ÷ off (target ≥ 0.8).
2. year     exact distinct posts of one licensee over `apps x days` app-days of `ids` distinct
            posts each (ids of posts created that day, 40 % shared between the apps of a day),
            stored through `ledger.add` in chunks as the store writes them; the time of
            `ledger_queries.distinct` over the whole period, and bytes stored per app-day.
            Target: 8 x 365 x 1 M in ≤ 2 s (the full size needs ~40 GB and hours: see RESULTS).
3. job      a tweets compliance job of `job_ids` ids (as text, one per line) against
            `content_events` delete/edit/scrub events on a subset of them: upload parsed,
            evaluated and the result stored (JobService.upload), then downloaded.
            Target: 6.5 M ids against 1 M events in ≤ 20 s.

PostgreSQL comes from $TOLLHOUSE_TEST_DATABASE_URL (a private schema, dropped afterwards).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tollhouse.compliance.jobs import JobService
from tollhouse.compliance.models import content_events
from tollhouse.corpus.ids import snowflake
from tollhouse.db import create_engine, engine_beside, usage_database_url
from tollhouse.metering import ledger, ledger_queries
from tollhouse.metering.event import UsageEvent
from tollhouse.metering.ids import uuid7
from tollhouse.metering.ledger import LedgerKind
from tollhouse.metering.models import delivery_ledger
from tollhouse.metering.sql_store import record_events
from tollhouse.migrations.runner import upgrade

PG_URL = os.environ.get("TOLLHOUSE_TEST_DATABASE_URL", "")
DAY0 = datetime(2026, 1, 1, tzinfo=UTC)


@contextmanager
def database(backend: str, tmp: Path) -> Iterator[str]:
    if backend == "sqlite":
        url = f"sqlite:///{tmp / f'bench-{uuid.uuid4().hex[:6]}.db'}"
        engine = create_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
        return
    schema = f"bench_holdings_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options={quote(f'-csearch_path={schema}')}"
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def _post_id(rng: random.Random, day: date) -> int:
    at = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    return snowflake(
        at + timedelta(milliseconds=rng.randrange(86_400_000)),
        rng.randrange(1024),
        rng.randrange(4096),
    )


def usage_events(n: int, rng: random.Random) -> list[UsageEvent]:
    start = int(DAY0.timestamp() * 1_000_000)
    out = []
    for i in range(n):
        us = start + i * 37
        ids = tuple(_post_id(rng, DAY0.date()) for _ in range(10))
        out.append(
            UsageEvent(
                uuid7(us // 1000),
                us,
                1 + i % 3,
                10 + i % 8,
                f"key{i % 8}",
                "/2/tweets",
                "GET",
                200,
                10,
                5,
                4500,
                2500,
                "10.0.0.1",
                "bench/1.0",
                None,
                ids,
                (rng.randrange(1, 1 << 40), rng.randrange(1, 1 << 40)),
            )
        )
    return out


def bench_ingest(url: str, n: int) -> tuple[float, float]:
    rng = random.Random(1)
    engine = create_engine(url)
    usage = engine_beside(engine, usage_database_url(url))
    events = usage_events(2 * n, rng)
    original = ledger.record
    rates = []
    try:
        for enabled, part in ((False, events[:n]), (True, events[n:])):
            ledger.record = original if enabled else (lambda conn, evs: None)  # type: ignore[assignment]
            started = time.perf_counter()
            for i in range(0, len(part), 2000):
                record_events(usage, part[i : i + 2000])
            rates.append(len(part) / (time.perf_counter() - started))
    finally:
        ledger.record = original
        usage.dispose()
        engine.dispose()
    return rates[0], rates[1]


def bench_year(url: str, apps: int, days: int, ids: int) -> tuple[float, int, int]:
    rng = random.Random(2)
    engine = create_engine(url)
    usage = engine_beside(engine, usage_database_url(url))
    try:
        for d in range(days):
            day = DAY0.date() + timedelta(days=d)
            shared = [_post_id(rng, day) for _ in range(ids * 4 // 10)]
            for app in range(apps):
                own = [_post_id(rng, day) for _ in range(ids - len(shared))]
                day_ids = shared + own
                with usage.begin() as conn:
                    for i in range(0, len(day_ids), 20_000):  # as the store's batches come
                        ledger.add(
                            conn, 1, day, 100 + app, LedgerKind.POSTS, day_ids[i : i + 20_000]
                        )
        with usage.connect() as conn:
            stored = conn.execute(
                sa.select(sa.func.sum(sa.func.length(delivery_ledger.c.ids)))
            ).scalar_one()
            started = time.perf_counter()
            got = ledger_queries.distinct(conn, 1)
            elapsed = time.perf_counter() - started
    finally:
        usage.dispose()
        engine.dispose()
    return elapsed, got.posts, int(stored) // (apps * days)


def bench_job(url: str, job_ids: int, n_events: int) -> tuple[float, float, int]:
    rng = random.Random(3)
    engine = create_engine(url)
    try:
        ids = sorted(
            {
                _post_id(rng, DAY0.date() + timedelta(days=rng.randrange(365)))
                for _ in range(job_ids)
            }
        )
        evented = rng.sample(ids, min(n_events, len(ids)))
        names = ("delete", "tweet_edit", "scrub_geo")
        now = datetime.now(UTC)
        with engine.begin() as conn:
            rows = [
                {"subject": "post", "subject_id": pid, "event": names[i % 3],
                 "occurred_at": now - timedelta(days=1), "details": None, "recorded_at": now}
                for i, pid in enumerate(evented)
            ]  # fmt: skip
            for i in range(0, len(rows), 50_000):
                conn.execute(content_events.insert(), rows[i : i + 50_000])
        body = ("\r\n".join(map(str, ids)) + "\r\n").encode()
        jobs = JobService(engine)
        job = jobs.create(1, 1, "tweets", None, False)
        started = time.perf_counter()
        jobs.upload(
            job.upload_token, (body[i : i + (1 << 16)] for i in range(0, len(body), 1 << 16))
        )
        processed = time.perf_counter() - started
        _, result = jobs.download(job.download_token)
        total = time.perf_counter() - started
    finally:
        engine.dispose()
    return processed, total, result.count(b"\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--backend", default="both", choices=("sqlite", "postgresql", "both"))
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if "postgresql" in backends and not PG_URL:
        backends.remove("postgresql")
    if args.quick:
        n_events, year, job = 10_000, (8, 10, 20_000), (200_000, 30_000)
    else:
        n_events, year, job = 60_000, (8, 30, 100_000), (6_500_000, 1_000_000)
    print(
        f"# bench/holdings.py {'--quick' if args.quick else ''} — {platform.node()}, "
        f"{platform.processor() or platform.machine()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            with database(backend, Path(tmp)) as url:
                off, on = bench_ingest(url, n_events)
                print(
                    f"{backend} ingest: ledger off {off:,.0f} ev/s, on {on:,.0f} ev/s,"
                    f" ratio {on / off:.2f}"
                )
            with database(backend, Path(tmp)) as url:
                elapsed, distinct, per_day = bench_year(url, *year)
                apps, days, ids = year
                print(
                    f"{backend} year: {apps} apps x {days} days x {ids:,} ids: distinct"
                    f" {distinct:,} in {elapsed:.2f} s; {per_day:,} bytes per app-day"
                    f" ({per_day / ids:.1f} B/id)"
                )
            with database(backend, Path(tmp)) as url:
                processed, total, lines = bench_job(url, *job)
                print(
                    f"{backend} job: {job[0]:,} ids, {job[1]:,} events: processed in"
                    f" {processed:.2f} s, downloaded by {total:.2f} s, {lines:,} result lines"
                )


if __name__ == "__main__":
    main()
