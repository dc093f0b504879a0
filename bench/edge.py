"""What the edge costs: the same handler with and without the access pipeline, same process.

Peers, each driven in-process through ASGI (no sockets, so only the app's own work counts):

  bare      the app without middleware: the foundation's unauthenticated handler
  access    EdgeMiddleware with its access steps only (authenticate, org/app active,
            agreement, endpoint in plan): the part this benchmark is the budget for (<= 10 %)
  edge      EdgeMiddleware with the limits steps too (rate windows, monthly cap)
  full      create_app as served: edge, metering middleware, error handlers

for two handlers: GET /2/tweets/:id (a real post lookup on SQLite) and a no-op /2/ route (so
the edge's absolute cost per request shows). Rounds alternate the peers so that a busy shared
machine slows them alike; the ratio is the median over rounds.

    python bench/edge.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.types import Message

from tollhouse.access.agreements import default_agreement
from tollhouse.access.plans import RateLimit, default_plans
from tollhouse.access.service import AccessService
from tollhouse.api.app import create_app
from tollhouse.api.edge import EdgeMiddleware
from tollhouse.corpus.records import PostRecord, UserRecord
from tollhouse.corpus.store import insert_posts, insert_users
from tollhouse.db import create_engine
from tollhouse.migrations.runner import upgrade
from tollhouse.settings import load_settings

POST_ID = 1850000000000000000


def prepare(directory: Path) -> tuple[str, str]:
    """A database with one post and an org on a plan without practical limits; its token."""
    url = f"sqlite:///{directory / 'bench.db'}"
    engine = create_engine(url)
    upgrade(engine)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        insert_users(conn, [UserRecord(id=1, username="bench", created_at=now)])
        insert_posts(
            conn, [PostRecord(id=POST_ID, author_id=1, text="edge bench post", created_at=now)]
        )
    pro = next(p for p in default_plans() if p.name == "pro")
    plan = dataclasses.replace(
        pro,
        name="bench",
        rate_limits={t: (RateLimit(10**9, 900),) for t in pro.endpoints},
        monthly_post_cap=None,
    )
    service = AccessService(engine)
    service.load_plans([plan], "bench")
    service.publish_agreement(default_agreement(), "bench")
    service.create_org("Bench", "bench", "bench")
    service.accept_agreement("Bench", "bench", "bench")
    service.create_app("Bench", "bench-app", "bench")
    token = service.create_key("bench-app", "bench").token
    engine.dispose()
    return url, token


def scope_for(app: Any, path: str, token: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode())],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "app": app,
        "state": {},
    }


async def drive(app: Any, path: str, token: str, n: int) -> float:
    """Requests per second of `n` sequential requests; fails loudly on a non-200."""

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    status: list[int] = []

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    started = time.perf_counter()
    for _ in range(n):
        await app(scope_for(app, path, token), receive, send)
    elapsed = time.perf_counter() - started
    if set(status) != {200}:
        raise SystemExit(f"{path}: unexpected statuses {sorted(set(status))}")
    return n / elapsed


def build(url: str, keep: Callable[[type], bool]) -> Any:
    """create_app as served, keeping only the /2/ pipeline layers `keep` accepts (the pipeline
    is built on the first /2/ request, so editing `x_layers` before that is enough)."""
    app = create_app(load_settings(database_url=url))

    async def noop() -> dict[str, str]:
        return {"ok": "yes"}

    app.add_api_route("/2/_bench/noop", noop)
    app.x_layers = [(cls, options) for cls, options in app.x_layers if keep(cls)]
    return app


async def run(quick: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url, token = prepare(Path(tmp))
        access_only = build(url, lambda cls: cls is EdgeMiddleware)
        peers: dict[str, Any] = {
            "bare": build(url, lambda _cls: False),
            "access": access_only,
            "edge": build(url, lambda cls: cls is EdgeMiddleware),
            "full": build(url, lambda _cls: True),
        }
        async with contextlib.AsyncExitStack() as stack:
            for app in peers.values():
                await stack.enter_async_context(app.router.lifespan_context(app))
            # Without a limits service the edge's limits steps skip themselves; it is
            # put back before the lifespan closes it.
            state = access_only.state.tollhouse
            stack.callback(setattr, state, "limits", state.limits)
            state.limits = None
            # Many short rounds, peers alternating: load from other work on a shared machine then
            # hits all peers alike, and the median of per-round ratios ignores the spikes.
            rounds, n = (20, 100) if quick else (100, 300)
            cases = (("GET /2/tweets/:id", f"/2/tweets/{POST_ID}"), ("no-op /2/ route", "/2/_bench/noop"))  # fmt: skip  # noqa: E501
            for label, path in cases:
                for app in peers.values():  # warm up: caches, key directory, SQL compile
                    await drive(app, path, token, 200)
                rates: dict[str, list[float]] = {name: [] for name in peers}
                for _ in range(rounds):
                    for name, app in peers.items():
                        rates[name].append(await drive(app, path, token, n))
                bare = statistics.median(rates["bare"])
                print(f"\n{label}: {rounds} rounds x {n} requests, in-process ASGI")
                for name in peers:
                    rps = statistics.median(rates[name])
                    ratios = [r / b for r, b in zip(rates[name], rates["bare"], strict=True)]
                    print(
                        f"  {name:6s} {rps:9.0f} req/s  {1e6 / rps:7.1f} us/req  "
                        f"ratio to bare {statistics.median(ratios):.3f}"
                    )
                for name in ("access", "edge"):
                    cost = 1e6 / statistics.median(rates[name]) - 1e6 / bare
                    print(f"  {name} adds {cost:.1f} us per request")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="a short run (CI smoke)")
    args = parser.parse_args()
    asyncio.run(run(args.quick))


if __name__ == "__main__":
    main()
