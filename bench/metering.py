"""Metering: ingest throughput, the latency cost of strict/fast/off, and a year of usage queried.

    .venv/bin/python bench/metering.py [--quick] [--backend sqlite|postgresql|both] [--write]

1. ingest   usage events/s from one process into SQLite and PostgreSQL:
            * store: `record_events` batches (staging + idempotent insert + rollups + sketches,
              one transaction each; executemany on SQLite, COPY on PostgreSQL);
            * writer: the whole path, `UsageRecorder.record` → fsynced spool → store, until drained;
            * peer:  plain per-row INSERT of the same rows into the same table, one transaction
              per event (what a request handler writing its own row would do);
            ratio = store ÷ peer.
2. latency  the authenticated lookup (GET /2/tweets/:id with a real key, the whole app through
            httpx's ASGITransport, 1 and 8 concurrent clients) with metering off, fast and
            strict (store process, the default), strict-thread (the store in a thread of the
            serving process, as before) and strict-loop (the loop fsyncs itself): p50/p99,
            strict - off, and the spool's fdatasync p50/p99 over the same run.
3. query    one organisation, 8 apps x 10 endpoints, a year of hourly rollups summing to 780 M
            requests and 26 B posts (and the daily rollups made from them, as the store keeps
            them), 2,920 daily HLL sketches, raw events at 1/1000; the time of
            `tollhouse usage --org … --by app --json` (a subprocess, interpreter start included)
            and of the query alone in process.

PostgreSQL comes from $TOLLHOUSE_TEST_DATABASE_URL (a private schema, dropped afterwards). The
machine is shared with other work, so absolute numbers are noisy; ratios are side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.api.sample_corpus import build
from tests.backends import migrated_database
from tests.metering.licensees import make_licensees

from tollhouse.access.licensee_names import LicenseeNames
from tollhouse.api.app import create_app
from tollhouse.db import create_engine
from tollhouse.metering import sketches
from tollhouse.metering.event import UsageEvent
from tollhouse.metering.ids import uuid7
from tollhouse.metering.models import usage_events, usage_rollups, usage_sketches
from tollhouse.metering.recorder import UsageRecorder
from tollhouse.metering.service import usage_report
from tollhouse.metering.sql_store import record_events
from tollhouse.settings import load_settings

RESULTS = Path(__file__).with_name("RESULTS.md")
BEGIN, END = "<!-- metering:begin -->", "<!-- metering:end -->"
PG_URL = os.environ.get("TOLLHOUSE_TEST_DATABASE_URL", "")
ENDPOINTS = (
    "/2/tweets",
    "/2/tweets/:id",
    "/2/tweets/search/recent",
    "/2/tweets/search/all",
    "/2/tweets/counts/recent",
    "/2/tweets/counts/all",
    "/2/users/:id/tweets",
    "/2/users/:id/mentions",
    "/2/users/:id",
    "/2/users/by/username/:username",
)


@contextmanager
def database(backend: str, tmp: Path) -> Iterator[str]:
    """A migrated, empty database URL for `backend`, removed afterwards."""
    name = f"bench-{uuid.uuid4().hex[:6]}.db"
    with migrated_database(backend, tmp, PG_URL, name=name, schema_prefix="bench_metering_") as url:
        yield url


def events(n: int, posts_per_event: int, rng: random.Random) -> list[UsageEvent]:
    start = int(time.time() * 1_000_000) - 3_600_000_000
    out = []
    for i in range(n):
        us = start + i * 37
        ids = tuple(rng.randrange(1, 50_000_000) for _ in range(posts_per_event))
        out.append(
            UsageEvent(
                uuid7(us // 1000),
                us,
                1 + i % 3,
                10 + i % 8,
                f"key{i % 8}",
                ENDPOINTS[i % 10],
                "GET",
                200 if i % 20 else 429,
                len(ids),
                len(ids) // 2,
                1500 + 300 * len(ids),
                2500,
                "10.0.0.1",
                "bench/1.0",
                None,
                ids,
            )
        )
    return out


# -- 1. ingest ---------------------------------------------------------------------------------


def bench_ingest(url: str, n: int, n_peer: int, posts: int, tmp: Path) -> dict[str, float]:
    rng = random.Random(1)
    engine = create_engine(url)
    batch = events(n, posts, rng)
    t = time.perf_counter()
    for i in range(0, n, 20_000):
        record_events(engine, batch[i : i + 20_000])
    store_rate = n / (time.perf_counter() - t)

    spool = tmp / f"spool-{uuid.uuid4().hex[:6]}"
    writer = UsageRecorder(engine, spool, mode="fast")
    writer.start()
    batch = events(n, posts, rng)
    t = time.perf_counter()
    for e in batch:
        writer.record(e)
    writer.stop()
    writer_rate = n / (time.perf_counter() - t)
    shutil.rmtree(spool, ignore_errors=True)

    peer_rows = [
        {
            "request_id": e.request_id,
            "occurred_at": e.occurred_at,
            "org_id": e.org_id,
            "app_id": e.app_id,
            "key_id": e.key_id,
            "endpoint": e.endpoint,
            "method": e.method,
            "status": e.status,
            "posts": e.posts,
            "new_posts": e.new_posts,
            "bytes": e.bytes,
            "duration_us": e.duration_us,
            "client_ip": e.client_ip,
            "user_agent": e.user_agent,
            "end_user": None,
            "end_user_id": None,
        }
        for e in events(n_peer, posts, rng)
    ]
    insert = usage_events.insert()
    t = time.perf_counter()
    for row in peer_rows:
        with engine.begin() as conn:
            conn.execute(insert, row)
    peer_rate = n_peer / (time.perf_counter() - t)
    engine.dispose()
    return {"store": store_rate, "writer": writer_rate, "peer": peer_rate}


# -- 2. latency --------------------------------------------------------------------------------


async def _lookups(
    client: httpx.AsyncClient, token: str, post_ids: list[int], n: int, clients: int
) -> list[float]:
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {token}"}

    async def one_client(c: int) -> None:
        for i in range(n // clients):
            pid = post_ids[(c * 7 + i) % len(post_ids)]
            t = time.perf_counter()
            r = await client.get(f"/2/tweets/{pid}", headers=headers)
            latencies.append(time.perf_counter() - t)
            assert r.status_code == 200, r.text

    await asyncio.gather(*(one_client(c) for c in range(clients)))
    return latencies


@asynccontextmanager
async def running(app: Any) -> AsyncIterator[None]:
    """Run the app's ASGI lifespan (through its middleware, as a server would)."""
    inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    task = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, outbox.put)
    )
    await inbox.put({"type": "lifespan.startup"})
    assert (await outbox.get())["type"] == "lifespan.startup.complete"
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await task


class FdatasyncTimer:
    """Times every durable write of this process's spool while active — `os.pwritev` with
    RWF_DSYNC (write and data sync in one call, where Linux has it) or `os.fdatasync` — the
    disk's share of a strict acknowledgement."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._real = os.fdatasync
        self._real_pwritev = getattr(os, "pwritev", None)

    def __enter__(self) -> FdatasyncTimer:
        real, real_pwritev, samples = self._real, self._real_pwritev, self.samples

        def timed(fd: int) -> None:
            t = time.perf_counter()
            real(fd)
            samples.append(time.perf_counter() - t)

        def timed_pwritev(fd: int, buffers: Any, offset: int, flags: int = 0) -> int:
            assert real_pwritev is not None
            t = time.perf_counter()
            written: int = real_pwritev(fd, buffers, offset, flags)
            if flags & getattr(os, "RWF_DSYNC", 0):
                samples.append(time.perf_counter() - t)
            return written

        os.fdatasync = timed
        if real_pwritev is not None:
            os.pwritev = timed_pwritev
        return self

    def __exit__(self, *_: object) -> None:
        os.fdatasync = self._real
        if self._real_pwritev is not None:
            os.pwritev = self._real_pwritev

    def p50_p99(self) -> tuple[float, float]:
        return _p50_p99(self.samples)


def _p50_p99(samples: list[float]) -> tuple[float, float]:
    lat = sorted(samples)
    if not lat:
        return (float("nan"), float("nan"))
    return statistics.median(lat) * 1e3, lat[max(int(len(lat) * 0.99) - 1, 0)] * 1e3


class GilProbe:
    """A thread sleeping 1 ms at a time and timing how late it wakes: the scheduler's delay
    plus the wait for the GIL — the wait the spool thread has after each fdatasync before it
    can hand an acknowledgement on. Run beside either store, the difference is the GIL's."""

    def __init__(self) -> None:
        self.late: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            t = time.perf_counter()
            time.sleep(0.001)
            self.late.append(time.perf_counter() - t - 0.001)

    def __enter__(self) -> GilProbe:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def bench_ack(
    url: str, rate: int, seconds: float, producers: int, tmp: Path, store: str = "process"
) -> dict[str, float]:
    """Strict mode's own cost: record_durably → future resolved (spool fsynced), p50/p99 ms,
    with `producers` tasks offering `rate` events/s in total on one event loop; the fdatasync
    p50/p99 ms and the GIL probe's lateness p50/p99 ms under it; CPU µs per event of this
    process and of the store process (until the writer is stopped and everything stored)."""
    engine = create_engine(url)
    writer = UsageRecorder(
        engine,
        tmp / f"spool-ack-{uuid.uuid4().hex[:6]}",
        mode="strict",
        store="thread" if store == "thread" else "process",
    )
    writer.start()
    batch = events(int(rate * seconds), 10, random.Random(3))
    lat: list[float] = []

    async def producer(k: int) -> None:
        interval = producers / rate
        start = time.perf_counter()
        for i, e in enumerate(batch[k::producers]):
            delay = start + i * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            t = time.perf_counter()
            await writer.record_durably(e)
            lat.append(time.perf_counter() - t)

    async def run() -> None:
        await asyncio.gather(*(producer(k) for k in range(producers)))

    cpu0, children0 = time.process_time(), os.times()
    with FdatasyncTimer() as syncs, GilProbe() as probe:
        asyncio.run(run())
    writer.stop()
    cpu, children = time.process_time() - cpu0, os.times()
    engine.dispose()
    child_cpu = (children.children_user - children0.children_user) + (
        children.children_system - children0.children_system
    )
    ack50, ack99 = _p50_p99(lat)
    sync50, sync99 = syncs.p50_p99()
    late50, late99 = _p50_p99(probe.late)
    return {
        "ack50": ack50,
        "ack99": ack99,
        "sync50": sync50,
        "sync99": sync99,
        "late50": late50,
        "late99": late99,
        "cpu_us": cpu / len(batch) * 1e6,
        "store_cpu_us": child_cpu / len(batch) * 1e6,
    }


MODES = ("off", "fast", "strict", "strict-thread", "strict-loop")


def bench_latency(
    url: str, n: int, clients: int, rounds: int, tmp: Path
) -> dict[str, tuple[float, float]]:
    """p50/p99 per mode; the modes take turns for `rounds` rounds so that the drift of a shared
    machine falls on all of them alike."""
    engine = create_engine(url)
    corpus = build(engine, n_posts=200, n_users=12)
    token = make_licensees(engine, {"bench-org": ["bench-app"]})["bench-org"].tokens["bench-app"]
    engine.dispose()
    visible = [p for p in corpus.posts if p not in corpus.hidden_posts][:50]
    apps = {}
    for mode in MODES:
        setting = "strict" if mode.startswith("strict") else mode
        settings = load_settings(database_url=url, metering_mode=setting, spool_dir=tmp / mode)
        apps[mode] = create_app(settings)
        if mode == "strict-loop":
            apps[mode].state.tollhouse.usage_writer.group_commit = "loop"
        if mode == "strict-thread":
            apps[mode].state.tollhouse.usage_writer.store = "thread"
    samples: dict[str, list[float]] = {mode: [] for mode in MODES}

    async def run() -> None:
        async with AsyncExitStack() as stack:
            http = {}
            for mode, app in apps.items():
                await stack.enter_async_context(running(app))
                http[mode] = await stack.enter_async_context(
                    httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b")
                )
                await _lookups(http[mode], token, visible, 200, 4)  # warm up
            for _ in range(rounds):
                for mode in MODES:
                    samples[mode] += await _lookups(http[mode], token, visible, n, clients)

    with FdatasyncTimer() as syncs:
        asyncio.run(run())
    out = {mode: _p50_p99(lat) for mode, lat in samples.items()}
    out["fdatasync"] = syncs.p50_p99()
    return out


# -- 3. query ----------------------------------------------------------------------------------


def build_year(url: str, days: int, raw_fraction: int, sketch_posts: int) -> tuple[str, float]:
    """One organisation's year as rollups (780 M requests, 26 B posts scaled to `days`),
    daily sketches and raw events at 1/`raw_fraction`. Returns (org name, seconds taken)."""
    t0 = time.perf_counter()
    engine = create_engine(url)
    lic = make_licensees(engine, {"heavy-licensee": [f"app-{i}" for i in range(8)]})
    org = lic["heavy-licensee"]
    app_ids = list(org.apps.values())
    rng = random.Random(7)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    hours = days * 24
    cells = hours * len(app_ids) * len(ENDPOINTS)
    req_per_cell = 780_000_000 * days // 365 // cells
    posts_per_req = 26_000_000_000 // 780_000_000  # 33
    rows = []
    for h in range(hours):
        hour = start + timedelta(hours=h)
        for app_id in app_ids:
            for ep in ENDPOINTS:
                req = req_per_cell + rng.randrange(-5, 6)
                rows.append(
                    {
                        "org_id": org.org_id,
                        "hour": hour,
                        "app_id": app_id,
                        "endpoint": ep,
                        "status_class": 2,
                        "requests": req,
                        "posts": req * posts_per_req,
                        "new_posts": req * posts_per_req // 3,
                        "bytes": req * 40_000,
                        "errors": 0,
                    }
                )
                if rng.random() < 0.1:
                    rows.append(
                        {
                            **rows[-1],
                            "status_class": 4,
                            "requests": 3,
                            "posts": 0,
                            "new_posts": 0,
                            "bytes": 600,
                            "errors": 3,
                        }
                    )
        if len(rows) > 50_000:
            with engine.begin() as conn:
                conn.execute(usage_rollups.insert(), rows)
            rows = []
    if rows:
        with engine.begin() as conn:
            conn.execute(usage_rollups.insert(), rows)
    # The daily rollups the store keeps beside the hourly ones (the same SQL as migration 0005).
    day = (
        "substr(hour, 1, 10)"
        if url.startswith("sqlite")
        else "CAST(hour AT TIME ZONE 'UTC' AS date)"
    )
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO usage_rollups_daily (org_id, day, app_id, endpoint, status_class,"
                f" requests, posts, new_posts, bytes, errors) SELECT org_id, {day}, app_id,"
                " endpoint, status_class, SUM(requests), SUM(posts), SUM(new_posts), SUM(bytes),"
                " SUM(errors) FROM usage_rollups GROUP BY 1, 2, 3, 4, 5"
            )
        )
    # Sketches: the query's cost depends on how many there are (fixed size each), not on the
    # cardinality fed in, so each app-day gets `sketch_posts` ids from a sliding window.
    sk_rows = []
    for d in range(days):
        day = (start + timedelta(days=d)).date()
        for a, app_id in enumerate(app_ids):
            base = d * sketch_posts // 2 + a * 1000
            sk = sketches.sketch_of(range(base, base + sketch_posts))
            sk_rows.append(
                {
                    "org_id": org.org_id,
                    "day": day,
                    "app_id": app_id,
                    "sketch": bytes(sk.serialize_compact()),
                }
            )
    with engine.begin() as conn:
        conn.execute(usage_sketches.insert(), sk_rows)
    # Raw events at 1/raw_fraction, straight into the table (they are evidence, not counted).
    n_raw = 780_000_000 * days // 365 // raw_fraction
    for i in range(0, n_raw, 50_000):
        chunk = events(min(50_000, n_raw - i), 0, rng)
        with engine.begin() as conn:
            conn.execute(
                usage_events.insert(),
                [
                    {
                        "request_id": e.request_id,
                        "occurred_at": e.occurred_at,
                        "org_id": org.org_id,
                        "app_id": app_ids[j % 8],
                        "key_id": e.key_id,
                        "endpoint": e.endpoint,
                        "method": "GET",
                        "status": e.status,
                        "posts": 33,
                        "new_posts": 11,
                        "bytes": 40_000,
                        "duration_us": 2500,
                        "client_ip": e.client_ip,
                        "user_agent": e.user_agent,
                        "end_user": None,
                        "end_user_id": None,
                    }
                    for j, e in enumerate(chunk)
                ],
            )
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(sa.text("ANALYZE usage_rollups"))
            conn.execute(sa.text("ANALYZE usage_rollups_daily"))
    engine.dispose()
    return "heavy-licensee", time.perf_counter() - t0


def bench_query(url: str, days: int, raw_fraction: int, sketch_posts: int) -> dict[str, Any]:
    org, build_s = build_year(url, days, raw_fraction, sketch_posts)
    start = date(2025, 1, 1)
    end = start + timedelta(days=days)
    engine = create_engine(url)
    t = time.perf_counter()
    report = usage_report(engine, org, start, end, by="app", licensees=LicenseeNames())
    in_process = time.perf_counter() - t
    engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLHOUSE_")}
    env["TOLLHOUSE_DATABASE_URL"] = url
    cmd = [
        sys.executable,
        "-m",
        "tollhouse.cli.main",
        "usage",
        "--org",
        org,
        "--by",
        "app",
        "--from",
        str(start),
        "--to",
        str(end),
        "--json",
    ]
    t = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    cli = time.perf_counter() - t
    assert '"rows"' in done.stdout
    d = report.total.distinct_posts
    return {
        "build_s": build_s,
        "in_process_s": in_process,
        "cli_s": cli,
        "requests": report.total.requests,
        "posts": report.total.posts,
        "distinct": (d.estimate, d.lower, d.upper) if d else None,
        "rows": len(report.rows),
    }


# -- main --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    parser.add_argument("--only", choices=("ingest", "latency", "query"), action="append")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if "postgresql" in backends and not PG_URL:
        print("TOLLHOUSE_TEST_DATABASE_URL not set: PostgreSQL skipped")
        backends.remove("postgresql")
    parts = args.only or ["ingest", "latency", "query"]
    n, n_peer, posts = (40_000, 2_000, 10) if args.quick else (400_000, 10_000, 10)
    n_lat, rounds = (400, 3) if args.quick else (1_000, 6)
    days = 30 if args.quick else 365
    lines = [
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores (shared with "
        f"other work), Python {platform.python_version()}; "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"command: .venv/bin/python bench/metering.py{' --quick' if args.quick else ''}"
        f" --backend {args.backend}",
        "",
    ]

    def say(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    tmp = Path(tempfile.mkdtemp(prefix="tollhouse-bench-metering-"))
    try:
        if "ingest" in parts:
            say(f"ingest ({n:,} events of {posts} posts each; peer {n_peer:,} per-row INSERTs)")
            say(
                "| backend | store ev/s | writer (spool+store) ev/s | per-row INSERT ev/s"
                " | store / peer |"
            )
            say("|---|---:|---:|---:|---:|")
            for b in backends:
                with database(b, tmp) as url:
                    r = bench_ingest(url, n, n_peer, posts, tmp)
                say(
                    f"| {b} | {r['store']:,.0f} | {r['writer']:,.0f} | {r['peer']:,.0f} | "
                    f"{r['store'] / r['peer']:.0f}x |"
                )
            say("")
        if "latency" in parts:
            say(
                "strict acknowledgement (event buffered → fsynced in the spool); the store in a"
                " process or a thread, taking turns"
            )
            say(
                "| backend | producers | offered ev/s | store | ack p50 / p99 ms"
                " | fdatasync p50 / p99 ms | ack p99 - fdatasync p99 | GIL probe late p50 / p99"
                " ms | CPU µs/event: server + store process |"
            )
            say("|---|---:|---:|---|---|---|---:|---|---|")
            for b in backends:
                with database(b, tmp) as url:
                    for producers, rate in ((1, 1_000), (64, 1_000), (64, 7_000)):
                        for store in ("process", "thread", "process", "thread"):
                            seconds = 2.0 if args.quick else 5.0
                            r = bench_ack(url, rate, seconds, producers, tmp, store)
                            say(
                                f"| {b} | {producers} | {rate:,} | {store} | {r['ack50']:.2f} / "
                                f"{r['ack99']:.2f} | {r['sync50']:.2f} / {r['sync99']:.2f} | "
                                f"{r['ack99'] - r['sync99']:+.2f} | {r['late50']:.2f} / "
                                f"{r['late99']:.2f} | {r['cpu_us']:.1f} + "
                                f"{r['store_cpu_us']:.1f} |"
                            )
            say("")
            say(
                f"latency: GET /2/tweets/:id with a key, the whole app in process (httpx "
                f"ASGITransport), modes taking turns for {rounds} rounds"
            )
            say("| backend | clients | mode | p50 ms | p99 ms | p99 - off p99 ms |")
            say("|---|---:|---|---:|---:|---:|")
            for b in backends:
                for clients in (1, 8):
                    with database(b, tmp) as url:
                        r2 = bench_latency(url, n_lat, clients, rounds, tmp)
                    base = r2["off"][1]
                    s50, s99 = r2.pop("fdatasync")
                    say(
                        f"| {b} | {clients} | (spool durable write, all modes) | {s50:.2f} | "
                        f"{s99:.2f} | |"
                    )
                    for mode, (p50, p99) in r2.items():
                        say(
                            f"| {b} | {clients} | {mode} | {p50:.2f} | {p99:.2f} | "
                            f"{p99 - base:+.2f} |"
                        )
            say("")
        if "query" in parts:
            say(
                f"query: {days} days x 8 apps x 10 endpoints of hourly rollups "
                f"(780 M requests / 26 B posts a year, pro rata), {days * 8:,} sketches, "
                "raw events at 1/1000; `tollhouse usage --by app --json`"
            )
            say(
                "| backend | build s | CLI s (incl. interpreter start) | query in process s"
                " | requests | posts | distinct (lower..upper) |"
            )
            say("|---|---:|---:|---:|---:|---:|---|")
            for b in backends:
                with database(b, tmp) as url:
                    q = bench_query(url, days, 1000, 20_000 if args.quick else 50_000)
                d = q["distinct"]
                say(
                    f"| {b} | {q['build_s']:.1f} | {q['cli_s']:.2f} | {q['in_process_s']:.2f} | "
                    f"{q['requests']:,} | {q['posts']:,} | "
                    f"{d[0]:,} ({d[1]:,}..{d[2]:,}) |"
                )
            say("")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.write:
        text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
        block = "\n".join([BEGIN, "## Metering", "", *lines, END])
        if BEGIN in text and END in text:
            text = text[: text.index(BEGIN)] + block + text[text.index(END) + len(END) :]
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
        RESULTS.write_text(text)


if __name__ == "__main__":
    main()
