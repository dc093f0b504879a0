"""Generator throughput: posts/s of `tollhouse corpus generate` into SQLite and PostgreSQL, side
by side with the peer, plain SQLAlchemy Core executemany of the same rows (through the FTS
trigger on SQLite, INSERT instead of COPY on PostgreSQL).

    .venv/bin/python bench/generate.py [--quick] [--backend sqlite|postgresql|both]
        [--pg-url URL] [--repeat N]

Each figure is the best of --repeat runs, into a fresh database each time. Besides wall-clock
posts/s it prints CPU microseconds per post (every thread, and the child processes ours
forks to generate and stage rows), which moves much less than wall time when other work
shares the machine; the load average is printed with the results.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import text
from sqlalchemy.engine import Engine

from tollhouse.corpus.models import post_facets, posts, users
from tollhouse.corpus.synthetic.bulk_rows import POST_COLUMNS, USER_COLUMNS, RowEncoding
from tollhouse.corpus.synthetic.generator import (
    CorpusSpec,
    bulk_mode,
    generate_corpus,
    iter_batches,
)
from tollhouse.db import create_engine
from tollhouse.migrations.runner import upgrade

END = datetime(2026, 11, 1, tzinfo=UTC)
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass
class Measurement:
    posts: int
    wall: float
    cpu: float  # every thread of this process and of its finished children
    main_cpu: float  # this process only (for ours: writing; the child processes are the rest)

    @property
    def rate(self) -> float:
        return self.posts / self.wall

    @property
    def cpu_us(self) -> float:
        return self.cpu / self.posts * 1e6


def best(runs: list[Measurement]) -> Measurement:
    return max(runs, key=lambda m: m.rate)


@contextmanager
def fresh_database(backend: str, pg_url: str) -> Iterator[Engine]:
    """A migrated, empty database: a temp SQLite file or a new PostgreSQL schema."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            engine = create_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
            upgrade(engine)
            try:
                yield engine
            finally:
                engine.dispose()
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in pg_url else "?"
    engine = create_engine(f"{pg_url}{sep}options={quote(f'-csearch_path={schema}')}")
    upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def _children_cpu() -> float:
    times = os.times()
    return times.children_user + times.children_system


def timed(work: Callable[[], None], n: int) -> Measurement:
    main_cpu, children = time.process_time(), _children_cpu()
    wall = time.perf_counter()
    work()
    wall = time.perf_counter() - wall
    main_cpu = time.process_time() - main_cpu
    return Measurement(n, wall, main_cpu + _children_cpu() - children, main_cpu)


def run_ours(engine: Engine, spec: CorpusSpec) -> None:
    generate_corpus(engine, spec.posts, spec.users, spec.seed, spec.start, spec.end, progress=False)


def run_peer(engine: Engine, spec: CorpusSpec) -> None:
    """The same rows, generated the same way, written with plain SQLAlchemy executemany."""
    encoding = RowEncoding(postgres=engine.dialect.name == "postgresql", native=True)
    for batch in iter_batches(spec, encoding):
        with engine.begin() as conn:
            if batch.users:
                conn.execute(
                    users.insert(), [dict(zip(USER_COLUMNS, u, strict=True)) for u in batch.users]
                )
            if batch.posts:
                conn.execute(
                    posts.insert(), [dict(zip(POST_COLUMNS, p, strict=True)) for p in batch.posts]
                )
            if batch.facets:
                conn.execute(
                    post_facets.insert(),
                    [{"kind": k, "value": v, "post_id": i} for k, v, i in batch.facets],
                )


def run_generate_only(spec: CorpusSpec) -> None:
    with bulk_mode():
        for _batch in iter_batches(spec, RowEncoding(postgres=False)):
            pass


def measure(backend: str, spec: CorpusSpec, repeat: int, pg_url: str) -> dict[str, Measurement]:
    results: dict[str, list[Measurement]] = {"ours": [], "peer": []}
    for _ in range(repeat):
        for name, runner in (("ours", run_ours), ("peer", run_peer)):
            with fresh_database(backend, pg_url) as engine:
                results[name].append(timed(lambda: runner(engine, spec), spec.posts))  # noqa: B023
    return {name: best(runs) for name, runs in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40 k posts instead of 300 k")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--pg-url", default=os.environ.get("TOLLHOUSE_BENCH_DATABASE_URL", DEFAULT_PG)
    )
    parser.add_argument("--repeat", type=int, default=0, help="best of N (default 3, quick 1)")
    args = parser.parse_args()
    n_posts, n_users = (40_000, 4_000) if args.quick else (300_000, 30_000)
    repeat = args.repeat or (1 if args.quick else 3)
    spec = CorpusSpec.create(n_posts, n_users, seed=1, end=END)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]

    print(
        f"# bench/generate.py: {n_posts:,} posts, {n_users:,} users, best of {repeat}; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}; "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    load_before = os.getloadavg()[0]
    gen = best([timed(lambda: run_generate_only(spec), n_posts) for _ in range(repeat)])
    print(
        f"generation only (no database): {gen.rate:10,.0f} posts/s  {gen.cpu_us:5.1f} CPU us/post"
    )
    header = ("backend", "ours posts/s", "CPU us", "peer posts/s", "CPU us", "ratio")
    print("{:<11} {:>13} {:>7} {:>13} {:>7} {:>6}".format(*header))
    for backend in backends:
        try:
            result = measure(backend, spec, repeat, args.pg_url)
        except Exception as exc:  # a missing PostgreSQL should not hide the SQLite figures
            print(f"{backend:<11} skipped: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
            continue
        ours, peer = result["ours"], result["peer"]
        print(
            f"{backend:<11} {ours.rate:13,.0f} {ours.cpu_us:7.1f} {peer.rate:13,.0f} "
            f"{peer.cpu_us:7.1f} {ours.rate / peer.rate:5.1f}x"
        )
        # Ours runs three processes (generate, stage, write) on two cores, so with two idle
        # cores the rate is bounded by half the total CPU or by the writing process alone,
        # whichever is larger: an estimate, not a measurement.
        children_cpu = ours.cpu - ours.main_cpu
        bound = max(ours.cpu / 2, ours.main_cpu)
        print(
            f"{'':<11} ours: child processes (generate, stage) "
            f"{children_cpu / ours.posts * 1e6:.1f} CPU us/post, writing process "
            f"{ours.main_cpu / ours.posts * 1e6:.1f}; bound with 2 idle cores "
            f"≈ {ours.posts / bound:,.0f} posts/s"
        )
    print(f"load average (1 min) before/after: {load_before:.1f} / {os.getloadavg()[0]:.1f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
