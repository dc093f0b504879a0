"""Search, lookup and timeline latency: our endpoint code vs the same SQL run raw.

    .venv/bin/python bench/search.py [--quick] [--backend sqlite|postgresql|both] [--write]

On a generated corpus (1 M posts; 100 k with --quick; `tollhouse.corpus.synthetic.generator`,
cached between runs in $TMPDIR/tollhouse-bench or a PostgreSQL schema), for 10 representative
recent-search queries, a 100-id lookup and a timeline page, it measures p50/p99 of

* ours:  the endpoint's own work, in process: parameter parsing, query parsing and compiling,
         the bounded connection (deadline), every SQL statement, rendering and orjson encoding;
* app:   the whole app through httpx's ASGITransport, edge included (auth, limits, metering);
* raw:   the very statements `ours` executed (captured from the engine), replayed on a raw DBAPI
         cursor with fetchall, no SQLAlchemy, no rendering;

and prints ours ÷ raw (target at most 1.5 times). --write puts the table in bench/RESULTS.md
between the search markers. The machine is shared with other work, so absolute numbers are
noisy; the ratio is measured side by side (interleaved) in one run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import orjson
from sqlalchemy import event, func, select, text
from sqlalchemy.engine import Engine

from tollhouse.api.app import create_app
from tollhouse.api.pagination import Binding
from tollhouse.api.routes.tweets import lookup_work, search_work
from tollhouse.api.routes.users import timeline_work
from tollhouse.corpus.deadline import run_bounded
from tollhouse.corpus.ids import lowest_id_at
from tollhouse.corpus.models import post_facets, posts, users
from tollhouse.corpus.statements import STATEMENTS
from tollhouse.db import create_engine
from tollhouse.migrations.runner import upgrade
from tollhouse.settings import load_settings

RESULTS = Path(__file__).with_name("RESULTS.md")
BEGIN, END = "<!-- search:begin -->", "<!-- search:end -->"
SEARCH_ARGS = {
    "max_results": "100",
    "tweet.fields": "author_id,created_at,public_metrics,lang",
    "expansions": "author_id",
}


@dataclass
class Case:
    name: str
    path: str  # for the app column
    params: dict[str, str]
    work: Callable[[], Any]  # builds the corpus work (parameter checks included)


def database(backend: str, n_posts: int) -> str:
    """A migrated database holding a generated corpus of `n_posts` (made once, then reused)."""
    if backend == "sqlite":
        folder = Path(os.environ.get("TMPDIR", tempfile.gettempdir())) / "tollhouse-bench"
        folder.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{folder / f'search-{n_posts}.db'}"
    else:
        base = os.environ.get("TOLLHOUSE_BENCH_DATABASE_URL") or os.environ.get(
            "TOLLHOUSE_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        )
        schema = f"bench_search_{n_posts}"
        admin = create_engine(base)
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
        admin.dispose()
        sep = "&" if "?" in base else "?"
        url = f"{base}{sep}options={quote(f'-csearch_path={schema}')}"
    engine = create_engine(url)
    upgrade(engine)
    with engine.connect() as conn:
        have = conn.execute(select(func.count()).select_from(posts)).scalar_one()
    if have < n_posts * 0.9:
        from tollhouse.corpus.synthetic.generator import generate_corpus

        print(f"generating {n_posts} posts into {backend} …", file=sys.stderr)
        stats = generate_corpus(engine, posts=n_posts, users=max(1000, n_posts // 50), seed=7)
        print(
            f"  {stats.posts_written} posts in {stats.seconds:.1f} s "
            f"({stats.posts_written / stats.seconds:,.0f} posts/s)",
            file=sys.stderr,
        )
        if backend == "postgresql":
            with engine.begin() as conn:
                conn.execute(text("ANALYZE"))
    engine.dispose()
    return url


def pick_subjects(engine: Engine) -> dict[str, Any]:
    """Real values to query for: a prolific author, a much-mentioned user, ids to look up."""
    with engine.connect() as conn:
        author_id, _n = conn.execute(
            select(posts.c.author_id, func.count().label("n"))
            .where(posts.c.id >= lowest_id_at(datetime.now(UTC) - timedelta(days=7)))
            .group_by(posts.c.author_id)
            .order_by(text("n DESC"))
            .limit(1)
        ).one()
        author = conn.execute(select(users.c.username).where(users.c.id == author_id)).scalar_one()
        mentioned = conn.execute(
            select(post_facets.c.value, func.count().label("n"))
            .where(post_facets.c.kind == "m")
            .group_by(post_facets.c.value)
            .order_by(text("n DESC"))
            .limit(1)
        ).one()[0]
        recent_ids = list(
            conn.execute(select(posts.c.id).order_by(posts.c.id.desc()).limit(20_000)).scalars()
        )
    rng = random.Random(3)
    return {
        "author_id": author_id,
        "author": author,
        "mentioned": mentioned,
        "lookup_ids": rng.sample(recent_ids, 100),
    }


def cases(subjects: dict[str, Any], dialect: str) -> list[Case]:
    now = datetime.now(UTC)
    week_ago = now - timedelta(days=7)
    queries = [
        "coffee",
        "coffee morning",
        "pizza OR football",
        '"good morning"',
        "#python",
        f"from:{subjects['author']}",
        "music lang:en",
        f"@{subjects['mentioned']}",
        "has:links -is:retweet",
        "(climate OR rain) -is:retweet has:hashtags",
    ]
    out = []
    for q in queries:
        params = {"query": q, **SEARCH_ARGS}

        def build(params: dict[str, str] = params) -> Any:
            return search_work(
                params,
                dialect,
                512,
                datetime.now(UTC),
                earliest=week_ago,
                default_start=datetime.now(UTC) - timedelta(days=7),
                max_hi=100,
                binding=Binding.of(b"bench", "/2/tweets/search/recent", params["query"]),
            )

        out.append(Case(f"search {q}", "/2/tweets/search/recent", params, build))
    ids = subjects["lookup_ids"]
    lookup = {
        "ids": ",".join(map(str, ids)),
        "expansions": "author_id",
        "tweet.fields": "created_at,author_id",
    }
    out.append(
        Case(
            "lookup 100 ids",
            "/2/tweets",
            lookup,
            lambda: lookup_work(lookup, ids, "ids", single=False),
        )
    )
    timeline = {"max_results": "100", "tweet.fields": "created_at"}
    author_id = subjects["author_id"]
    out.append(
        Case(
            "timeline page (100)",
            f"/2/users/{author_id}/tweets",
            timeline,
            lambda: timeline_work(
                timeline,
                author_id,
                mentions=False,
                binding=Binding.of(b"bench", "/2/users/:id/tweets", str(author_id), ""),
            ),
        )
    )
    return out


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(fn: Callable[[], Any], iterations: int) -> list[float]:
    for _ in range(3):
        fn()
    samples = []
    for _ in range(iterations):
        began = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - began) * 1000)
    return samples


def measure_pair(
    ours: Callable[[], Any], raw: Callable[[], Any], iterations: int
) -> tuple[list[float], list[float]]:
    """Alternate the two so that both see the same machine (it is shared and noisy)."""
    for _ in range(3):
        ours()
        raw()
    ours_ms: list[float] = []
    raw_ms: list[float] = []
    for _ in range(iterations):
        for fn, samples in ((ours, ours_ms), (raw, raw_ms)):
            began = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - began) * 1000)
    return ours_ms, raw_ms


def capture_sql(engine: Engine, run: Callable[[], Any]) -> list[tuple[str, Any]]:
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if not statement.lstrip().upper().startswith("SET "):
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    STATEMENTS.observer = lambda statement, parameters: statements.append((statement, parameters))
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", record)
        STATEMENTS.observer = None
    return statements


def issue_token(engine: Engine) -> str | None:
    """A key for the app column, through the access service (None if it is not there)."""
    try:
        from tollhouse.access.agreements import default_agreement
        from tollhouse.access.plans import RateLimit, default_plans
        from tollhouse.access.service import AccessService
    except ImportError:
        return None
    enterprise = next(p for p in default_plans() if p.name == "enterprise")
    suffix = os.urandom(4).hex()
    plan = replace(
        enterprise,
        name=f"bench-{suffix}",
        rate_limits={t: (RateLimit(10**9, 900),) for t in enterprise.endpoints},
        monthly_post_cap=None,
    )
    service = AccessService(engine)
    service.load_plans([plan], actor="bench")
    if service.current_agreement() is None:
        service.publish_agreement(default_agreement(), actor="bench")
    service.create_org(f"bench-{suffix}", plan.name, actor="bench")
    service.accept_agreement(f"bench-{suffix}", "Bench Runner", actor="bench")
    service.create_app(f"bench-{suffix}", f"bench-app-{suffix}", actor="bench")
    return service.create_key(f"bench-app-{suffix}", actor="bench").token


@asynccontextmanager
async def running(app: Any) -> AsyncIterator[None]:
    """Run the app's ASGI lifespan (start-up and shut-down) around the block; httpx's
    ASGITransport does not, and the edge's backends start there."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task = asyncio.create_task(app(scope, inbox.get, outbox.put))
    started = await outbox.get()
    if started["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"app start-up failed: {started}")
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await task


async def app_samples(
    url: str, token: str, bench_cases: list[Case], iterations: int
) -> dict[str, list[float]]:
    app = create_app(load_settings(database_url=url))
    out: dict[str, list[float]] = {}
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        running(app),
        httpx.AsyncClient(transport=transport, base_url="http://bench", headers=headers) as client,
    ):
        for case in bench_cases:
            for _ in range(3):
                r = await client.get(case.path, params=case.params)
                if r.status_code != 200:
                    raise RuntimeError(f"{case.name}: {r.status_code} {r.text[:200]}")
            samples = []
            for _ in range(iterations):
                began = time.perf_counter()
                await client.get(case.path, params=case.params)
                samples.append((time.perf_counter() - began) * 1000)
            out[case.name] = samples
    return out


def run_backend(backend: str, n_posts: int, iterations: int) -> list[str]:
    url = database(backend, n_posts)
    engine = create_engine(url)
    settings = load_settings(database_url=url)
    subjects = pick_subjects(engine)
    bench_cases = cases(subjects, engine.dialect.name)
    rows = []
    raw_conn = engine.raw_connection()
    try:
        for case in bench_cases:

            def ours(case: Case = case) -> int:
                body, _ = run_bounded(engine, settings.query_timeout_ms, case.work())
                return len(orjson.dumps(body))

            statements = capture_sql(engine, ours)

            def raw(statements: list[tuple[str, Any]] = statements) -> int:
                cursor = raw_conn.cursor()
                n = 0
                for statement, parameters in statements:
                    cursor.execute(statement, parameters)
                    n += len(cursor.fetchall())
                cursor.close()
                raw_conn.rollback()
                return n

            ours_ms, raw_ms = measure_pair(ours, raw, iterations)
            body, _ = run_bounded(engine, settings.query_timeout_ms, case.work())
            rows.append(
                (
                    case,
                    body.get("meta", {}).get("result_count", len(body.get("data", []))),
                    ours_ms,
                    raw_ms,
                    len(statements),
                )
            )
    finally:
        raw_conn.close()
    token = issue_token(engine)
    engine.dispose()
    app_ms: dict[str, list[float]] = {}
    if token:
        try:
            app_ms = asyncio.run(app_samples(url, token, bench_cases, iterations))
        except Exception as exc:  # the edge is someone else's work in progress; report, go on
            print(f"app column skipped on {backend}: {exc}", file=sys.stderr)
    lines = [
        f"| {backend} | case | results | SQL stmts | ours p50 / p99 ms "
        "| raw SQL p50 / p99 ms | ours ÷ raw (p50) | app p50 / p99 ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    ratios = []
    for case, n, ours_ms, raw_ms, n_sql in rows:
        ratio = statistics.median(ours_ms) / statistics.median(raw_ms)
        ratios.append(ratio)
        app = app_ms.get(case.name)
        app_text = f"{percentile(app, 0.5):.2f} / {percentile(app, 0.99):.2f}" if app else "n/a"
        name = case.name.replace("|", "\\|")
        lines.append(
            f"| | {name} | {n} | {n_sql} | {percentile(ours_ms, 0.5):.2f} / "
            f"{percentile(ours_ms, 0.99):.2f} | {percentile(raw_ms, 0.5):.2f} / "
            f"{percentile(raw_ms, 0.99):.2f} | {ratio:.2f}x | {app_text} |"
        )
    lines.append(
        f"| | **geometric mean ours ÷ raw** | | | | "
        f"| **{statistics.geometric_mean(ratios):.2f}x** | |"
    )
    return lines


def write_results(section: str) -> None:
    current = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    block = f"{BEGIN}\n{section}\n{END}"
    if BEGIN in current and END in current:
        head, rest = current.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        RESULTS.write_text(head + block + tail)
    else:
        RESULTS.write_text(current.rstrip("\n") + "\n\n" + block + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="100 k posts, fewer iterations")
    parser.add_argument("--posts", type=int, help="corpus size (default 1 M, 100 k with --quick)")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--iterations", type=int, help="timed calls per case")
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()
    n_posts = args.posts or (100_000 if args.quick else 1_000_000)
    iterations = args.iterations or (30 if args.quick else 100)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    command = "python bench/search.py " + " ".join(sys.argv[1:])
    out = [
        "## Search, lookup, timeline: endpoint code vs the same SQL raw (bench/search.py)",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · `{command.strip()}` · "
        f"{n_posts:,} generated posts · "
        f"{iterations} timed calls per case · {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()} · **shared machine** (other work running; absolute "
        "times are noisy, the ratio is side by side in one run).",
        "",
        "ours = parameter checks + query parse/compile + bounded connection + all statements + "
        "rendering + orjson; raw = the same statements (captured) on a raw DBAPI cursor with "
        "fetchall; app = the whole ASGI app via httpx ASGITransport, edge included. Search "
        "requests ask for 100 results with `expansions=author_id`, so they run two statements.",
        "",
    ]
    for backend in backends:
        out += run_backend(backend, n_posts, iterations)
        out.append("")
    section = "\n".join(out)
    print(section)
    if args.write:
        write_results(section)


if __name__ == "__main__":
    main()
