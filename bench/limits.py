"""Limits benchmark: decision cost and Redis round trips, side by side with the `limits` library.

    .venv/bin/python bench/limits.py [--quick] [--redis redis://127.0.0.1:6379/0]

1. Memory: the cost of one request's decision (a 15-minute and a 24-hour window, all must admit,
   plus the monthly cap) with MemoryLimits, and with `limits`' FixedWindowRateLimiter +
   MemoryStorage doing the same checks (hit both windows, read both windows' stats for the
   headers, read the cap counter). Target: ours ≤ 1/3 of theirs.
2. Redis: round trips per request (counted on the client's connections: command batches sent)
   and decisions/s from one process with 64 concurrent requests, for RedisLimits and for
   `limits`' async Redis storage (redis-py) doing the same checks.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the `limits` library it compares with: run as a script, its directory
# comes first on sys.path and would shadow the library.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Awaitable, Callable  # noqa: E402
from typing import Any  # noqa: E402

import redis.asyncio as aioredis  # noqa: E402
from limits.aio.storage import RedisStorage as AsyncRedisStorage  # noqa: E402
from limits.aio.strategies import FixedWindowRateLimiter as AsyncFixedWindow  # noqa: E402
from limits.storage import MemoryStorage  # noqa: E402
from limits.strategies import FixedWindowRateLimiter  # noqa: E402

from limits import RateLimitItemPerDay, RateLimitItemPerMinute  # noqa: E402
from tollhouse.access.plans import RateLimit  # noqa: E402
from tollhouse.limits.decisions import Admission  # noqa: E402
from tollhouse.limits.memory import MemoryLimits  # noqa: E402
from tollhouse.limits.redis.backend import RedisLimits  # noqa: E402

ENDPOINT = "/2/tweets/search/recent"
WINDOWS = (RateLimit(10**9, 900), RateLimit(10**9, 86_400))
APPS = 1000


def admissions() -> list[Admission]:
    return [
        Admission(
            org_id=app // 8,
            app_id=app,
            endpoint=ENDPOINT,
            windows=WINDOWS,
            cap=10**12,
            overage=False,
            billing_day=1 + app % 28,
            reserve=0,
        )
        for app in range(APPS)
    ]


def timed(fn: Callable[[int], object], n: int) -> float:
    """Seconds per call of one run of n calls."""
    start = time.perf_counter()
    for i in range(n):
        fn(i)
    return (time.perf_counter() - start) / n


def bench_memory(n: int, rounds: int) -> None:
    ours = MemoryLimits()
    asks = admissions()
    storage = MemoryStorage()
    limiter = FixedWindowRateLimiter(storage)
    items = (RateLimitItemPerMinute(10**9, 15), RateLimitItemPerDay(10**9))

    def peer(i: int) -> None:
        app = str(i % APPS)
        for item in items:
            limiter.hit(item, app, ENDPOINT)
        for item in items:
            limiter.get_window_stats(item, app, ENDPOINT)
        storage.get(f"cap:{i % APPS // 8}")

    async def admit_loop() -> float:
        start = time.perf_counter()
        for i in range(n):
            await ours.admit(asks[i % APPS])
        return (time.perf_counter() - start) / n

    # Interleaved rounds, best of each: the machine is shared, so noise hits both sides alike.
    ours_cost = ours_async = peer_cost = float("inf")
    for _ in range(rounds):
        ours_cost = min(ours_cost, timed(lambda i: ours.decide(asks[i % APPS]), n))
        ours_async = min(ours_async, asyncio.run(admit_loop()))
        peer_cost = min(peer_cost, timed(peer, n))
    print("## memory backend: one request's decision (2 windows + cap), best of", rounds)
    print(f"  tollhouse MemoryLimits.decide      {ours_cost * 1e6:8.2f} µs")
    print(f"  tollhouse MemoryLimits.admit (aw.) {ours_async * 1e6:8.2f} µs")
    print(f"  limits FixedWindow + MemoryStorage {peer_cost * 1e6:8.2f} µs")
    decide, admit = ours_cost / peer_cost, ours_async / peer_cost
    print(f"  ratio ours/limits: decide {decide:.2f}, admit {admit:.2f}  (target ≤ 0.33)")


class CountingConnection(aioredis.Connection):
    """Counts command batches sent: one per round trip (pipelines send one batch)."""

    sent = 0

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        CountingConnection.sent += 1
        await super().send_packed_command(command, check_health)


async def concurrent(n: int, width: int, one: Callable[[int], Awaitable[object]]) -> float:
    """Decisions per second running `one` n times with `width` in flight."""
    queue = iter(range(n))

    async def worker() -> None:
        for i in queue:
            await one(i)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(width)))
    return n / (time.perf_counter() - start)


async def bench_redis(url: str, n: int) -> None:
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    ours = RedisLimits(url, prefix=prefix, connection_class=CountingConnection)
    asks = admissions()
    await ours.admit(asks[0])  # loads the script once
    assert (
        ours.pipe is not None
    )  # the hot path's pipelined connection (limits/redis/resp_client.py)
    CountingConnection.sent = ours.pipe.sent = 0
    for i in range(200):
        await ours.admit(asks[i % APPS])
    ours_trips = (CountingConnection.sent + ours.pipe.sent) / 200
    ours_rate = await concurrent(n, 64, lambda i: ours.admit(asks[i % APPS]))

    storage = AsyncRedisStorage(
        "async+" + url,
        implementation="redispy",
        key_prefix=prefix + "peer",
        connection_class=CountingConnection,  # type: ignore[arg-type]
    )
    limiter = AsyncFixedWindow(storage)
    items = (RateLimitItemPerMinute(10**9, 15), RateLimitItemPerDay(10**9))

    async def peer(i: int) -> None:
        app = str(i % APPS)
        for item in items:
            await limiter.hit(item, app, ENDPOINT)
        for item in items:
            await limiter.get_window_stats(item, app, ENDPOINT)
        await storage.get(f"cap:{i % APPS // 8}")

    await peer(0)
    CountingConnection.sent = 0
    for i in range(200):
        await peer(i)
    peer_trips = CountingConnection.sent / 200
    peer_rate = await concurrent(n, 64, peer)

    print("## Redis backend: one request's decisions (2 windows + cap), 64 in flight, 1 process")
    for name, trips, rate in (
        ("tollhouse RedisLimits     ", ours_trips, ours_rate),
        ("limits async RedisStorage ", peer_trips, peer_rate),
    ):
        print(f"  {name} {trips:5.2f} round trips/request  {rate:9.0f} decisions/s")
    trips_ratio, rate_ratio = ours_trips / peer_trips, ours_rate / peer_rate
    print(f"  ratio ours/limits: round trips {trips_ratio:.2f}, throughput {rate_ratio:.2f}x")
    client = aioredis.Redis.from_url(url)
    keys = [k async for k in client.scan_iter(match=prefix + "*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()
    await ours.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations (a smoke run)")
    parser.add_argument(
        "--redis", default="redis://127.0.0.1:6379/0", help="Redis URL ('' to skip)"
    )
    args = parser.parse_args()
    n_memory = 20_000 if args.quick else 100_000
    n_redis = 2_000 if args.quick else 20_000
    bench_memory(n_memory, 3 if args.quick else 7)
    if args.redis:
        asyncio.run(bench_redis(args.redis, n_redis))


if __name__ == "__main__":
    main()
