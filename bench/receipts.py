"""Receipts: what the usage log costs at ingest, a checkpoint round for 10 000 organisations,
and the licensee's check over one day of the heaviest licensee.

    .venv/bin/python bench/receipts.py [--quick] [--backend sqlite|postgresql|both]

1. ingest      `record_events` into an empty usage database, 20 000 events a batch (as the
               drainer batches), with the usage log (receipts on) and with `append_events`
               replaced by a no-op (off); runs alternate on/off. Target on ÷ off ≥ 0.8.
2. checkpoints one round (`checkpoint_round`) over 10 000 organisations with new leaves: the
               first (tiles made) and a steady one (one new leaf each). Target ≤ 5 s.
3. verifier    `tollhouse_verify.check` over one organisation's day of 2.1 M leaves (the
               heaviest licensee), entries served in memory through httpx's MockTransport (no
               network), own records for every leaf. Target ≤ 60 s.

PostgreSQL comes from $TOLLHOUSE_TEST_DATABASE_URL (a private schema, dropped afterwards).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.metering import PG_URL, database, events

from tollhouse.db import create_engine
from tollhouse.metering import usage_log
from tollhouse.metering.event import UsageEvent
from tollhouse.metering.ids import uuid7
from tollhouse.metering.sql_store import record_events
from tollhouse.receipts.checkpoints import checkpoint_round
from tollhouse.receipts.signing import LogSigner
from tollhouse_verify.check import check
from tollhouse_verify.checkpoint import Checkpoint
from tollhouse_verify.leaf import encode_usage, ids_digest
from tollhouse_verify.note import Signer
from tollhouse_verify.tiles import TILE_WIDTH, encode_bundle, parse_path
from tollhouse_verify.tree import leaf_hash, root_of

BATCH = 20_000
POOL = 5_000_000  # distinct posts a day in the verifier part (the set it recomputes `new` from)


def bench_ingest(url: str, n: int, rounds: int) -> dict[str, float]:
    original = usage_log.append_events
    rates: dict[str, list[float]] = {"on": [], "off": []}
    tmp = Path(tempfile.mkdtemp())
    for r in range(rounds):
        for mode in ("on", "off") if r % 2 == 0 else ("off", "on"):
            with database(url, tmp) as db:
                engine = create_engine(db)
                batch = events(n, 20, random.Random(r))
                usage_log.append_events = original if mode == "on" else (lambda *a: 0)  # type: ignore[assignment]
                try:
                    t = time.perf_counter()
                    for i in range(0, n, BATCH):
                        record_events(engine, batch[i : i + BATCH])
                    rates[mode].append(n / (time.perf_counter() - t))
                finally:
                    usage_log.append_events = original  # type: ignore[assignment]
                    engine.dispose()
    on, off = max(rates["on"]), max(rates["off"])
    return {"on": on, "off": off, "ratio": on / off}


def _org_events(orgs: int, per_org: int, start_us: int) -> list[UsageEvent]:
    out = []
    for k in range(per_org):
        for org in range(1, orgs + 1):
            us = start_us + (k * orgs + org) * 10
            out.append(
                UsageEvent(
                    uuid7(us // 1000),
                    us,
                    org,
                    org * 10,
                    "key0000001",
                    "/2/tweets/:id",
                    "GET",
                    200,
                    1,
                    1,
                    900,
                    1000,
                    None,
                    None,
                    None,
                    (org * 1000 + k,),
                )
            )
    return out


def bench_checkpoints(url: str, orgs: int) -> dict[str, float]:
    tmp = Path(tempfile.mkdtemp())
    signer = LogSigner("bench.example", b"\x01" * 32)
    with database(url, tmp) as db:
        engine = create_engine(db)
        start = int(time.time() * 1e6) - 3_600_000_000
        batch = _org_events(orgs, 3, start)
        for i in range(0, len(batch), BATCH):
            record_events(engine, batch[i : i + BATCH])
        now = datetime.now(UTC)
        t = time.perf_counter()
        first = checkpoint_round(engine, signer, now, 60)
        first_s = time.perf_counter() - t
        more = _org_events(orgs, 1, start + 600_000_000)
        for i in range(0, len(more), BATCH):
            record_events(engine, more[i : i + BATCH])
        t = time.perf_counter()
        steady = checkpoint_round(engine, signer, now + timedelta(seconds=61), 60)
        steady_s = time.perf_counter() - t
        engine.dispose()
    assert len(first) == len(steady) == orgs
    return {"first": first_s, "steady": steady_s}


def bench_verifier(n: int, tmp: Path) -> dict[str, float]:
    org = 7
    signer = Signer.from_seed(f"bench.example/usage/{org}", b"\x02" * 32)
    t = time.perf_counter()
    day_ms = int(datetime(2026, 12, 2, tzinfo=UTC).timestamp() * 1000)
    leaves: list[bytes] = []
    rng = random.Random(7)
    seen: set[int] = set()
    own_path = tmp / "own.jsonl"
    with own_path.open("w") as own:
        for i in range(n):
            at = day_ms + i * 40
            rid = uuid7(at)
            # 34 posts a request (71 M posts / 2.1 M requests) from a pool of POOL posts; new
            # is what the daily dedupe leaves (exact here).
            ids = [rng.randrange(POOL) for _ in range(34)]
            fresh = len(set(ids) - seen)
            seen.update(ids)
            leaves.append(
                encode_usage(
                    org,
                    rid,
                    at,
                    70 + i % 8,
                    "key0000001",
                    "GET",
                    "/2/tweets/search/all",
                    200,
                    True,
                    34,
                    fresh,
                    48213,
                    ids_digest(ids),
                    None,
                )
            )
            own.write(
                json.dumps(
                    {
                        "request_id": rid,
                        "status": 200,
                        "route": "GET /2/tweets/search/all",
                        "post_ids": ids,
                    }
                )
                + "\n"
            )
    note = Checkpoint(signer.name, n, root_of(leaf_hash(x) for x in leaves)).sign([signer])
    build_s = time.perf_counter() - t

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/usage-log/v1/")
        if path == "checkpoint":
            return httpx.Response(200, text=note)
        ref = parse_path(path)
        lo = ref.n * TILE_WIDTH
        return httpx.Response(200, content=encode_bundle(leaves[lo : lo + ref.width]))

    client = httpx.Client(transport=httpx.MockTransport(handler))
    t = time.perf_counter()
    report = check("http://bench", "token", str(signer.verifier), own_path, client=client)
    check_s = time.perf_counter() - t
    assert report.ok and report.matched == n, report.failures[:3]
    return {"leaves": n, "build": build_s, "check": check_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--only", choices=("ingest", "checkpoints", "verifier"), action="append")
    parser.add_argument("--leaves", type=int, help="verifier: leaves (default 2.1 M)")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if "postgresql" in backends and not PG_URL:
        backends.remove("postgresql")
    parts = args.only or ["ingest", "checkpoints", "verifier"]
    print(
        f"# {platform.node()} {platform.processor() or platform.machine()}, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {' '.join(sys.argv)}"
    )
    for backend in backends:
        if "ingest" in parts:
            n = 20_000 if args.quick else 100_000
            r = bench_ingest(backend, n, 1 if args.quick else 3)
            print(
                f"ingest      {backend:10} {n:,} events: receipts on {r['on']:,.0f}/s, "
                f"off {r['off']:,.0f}/s, on/off {r['ratio']:.2f} (target ≥ 0.80)"
            )
        if "checkpoints" in parts:
            orgs = 1_000 if args.quick else 10_000
            c = bench_checkpoints(backend, orgs)
            print(
                f"checkpoints {backend:10} {orgs:,} logs: first round {c['first']:.2f} s, "
                f"steady round {c['steady']:.2f} s (target ≤ 5 s)"
            )
    if "verifier" in parts:
        n = args.leaves or (100_000 if args.quick else 2_100_000)
        with tempfile.TemporaryDirectory() as tmp:
            v = bench_verifier(n, Path(tmp))
        print(
            f"verifier    {v['leaves']:,} leaves: check {v['check']:.1f} s "
            f"(target ≤ 60 s; building the log {v['build']:.1f} s)"
        )


if __name__ == "__main__":
    main()
