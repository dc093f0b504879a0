"""Timeline pages: this checkout's code vs another source tree's, interleaved (A/B/A/B).

    .venv/bin/python bench/timeline_pages.py --other OLD/src [--backend sqlite|postgresql|both]
        [--posts N] [--rounds R] [--iterations I]

Made to check that stopping timelines at X's depth (3,200 posts, 800 mentions) did not make a
page slower. On bench/search.py's generated corpus (1 M posts by default, cached), for its most
prolific author and most mentioned user, each round runs one child process per source tree
(order alternating) that times, in process, the endpoint's own work (parameter parsing, the
bounded connection, every statement, rendering, orjson) for: the first page, a page reached by
paging 20 pages deep (its token as that code issued it), a first page below `end_time`, and the
same for mentions. Reported: median over rounds of each child's p50 wall time and of its CPU
time per page (process_time), per tree. To get OLD/src: `git archive main src | tar -x -C OLD`.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"


def child(url: str, author_id: int, mentioned_id: int, iterations: int) -> dict[str, Any]:
    """Time the cases with whichever `tollhouse` is importable; {case: [p50 ms, cpu ms]}."""
    from tollhouse.api.routes.users import timeline_work
    from tollhouse.corpus.deadline import run_bounded
    from tollhouse.db import create_engine

    engine = create_engine(url)

    def page(args: dict[str, str], user_id: int, mentions: bool) -> dict[str, Any]:
        # Versions that sign tokens for their timeline take the binding to sign them with.
        extra: dict[str, Any] = {}
        if "binding" in inspect.signature(timeline_work).parameters:
            from tollhouse.api.pagination import Binding

            template = "/2/users/:id/mentions" if mentions else "/2/users/:id/tweets"
            extra["binding"] = Binding.of(b"bench", template, str(user_id), args.get("exclude", ""))
        work = timeline_work(args, user_id, mentions=mentions, **extra)
        body, _ = run_bounded(engine, 10_000, work)
        return body

    def deep_args(base: dict[str, str], user_id: int, mentions: bool, pages: int) -> dict[str, str]:
        args = dict(base)
        for _ in range(pages):
            token = page(args, user_id, mentions)["meta"]["next_token"]
            args = {**base, "pagination_token": token}
        return args

    base = {"max_results": "100", "tweet.fields": "created_at"}
    day_ago = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    cases: dict[str, tuple[dict[str, str], int, bool]] = {
        "posts: first page": (base, author_id, False),
        "posts: page 21 (depth 2000)": (deep_args(base, author_id, False, 20), author_id, False),
        "posts: first page, end_time 1 day ago": ({**base, "end_time": day_ago}, author_id, False),
        "mentions: first page": (base, mentioned_id, True),
        "mentions: page 6 (depth 500)": (
            deep_args(base, mentioned_id, True, 5),
            mentioned_id,
            True,
        ),
    }
    out: dict[str, Any] = {}
    for name, (args, user_id, mentions) in cases.items():
        run: Callable[[], Any] = lambda a=args, u=user_id, m=mentions: page(a, u, m)  # noqa: E731
        result_count = run()["meta"]["result_count"]
        for _ in range(5):
            run()
        samples = []
        cpu_began = time.process_time()
        for _ in range(iterations):
            began = time.perf_counter()
            run()
            samples.append((time.perf_counter() - began) * 1000)
        cpu_ms = (time.process_time() - cpu_began) * 1000 / iterations
        out[name] = [statistics.median(samples), cpu_ms, result_count]
    engine.dispose()
    return out


def subjects(url: str) -> tuple[int, int]:
    """The most prolific recent author and the most mentioned user's id."""
    from sqlalchemy import func, select

    from tollhouse.corpus.models import users
    from tollhouse.db import create_engine

    sys.path.insert(0, str(HERE))
    from search import pick_subjects

    engine = create_engine(url)
    picked = pick_subjects(engine)
    with engine.connect() as conn:
        mentioned_id = conn.execute(
            select(users.c.id).where(func.lower(users.c.username) == picked["mentioned"])
        ).scalar_one()
    engine.dispose()
    return int(picked["author_id"]), int(mentioned_id)


def compare(backend: str, other: Path, n_posts: int, rounds: int, iterations: int) -> str:
    sys.path.insert(0, str(HERE))
    from search import database

    url = database(backend, n_posts)
    author_id, mentioned_id = subjects(url)
    trees = {"before": other.resolve(), "after": SRC}
    results: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
    for r in range(rounds):
        order = ["before", "after"] if r % 2 == 0 else ["after", "before"]
        for label in order:
            env = {**os.environ, "PYTHONPATH": str(trees[label])}
            args = [sys.executable, __file__, "--child", url, str(author_id), str(mentioned_id)]
            done = subprocess.run(
                [*args, str(iterations)], env=env, capture_output=True, text=True, check=True
            )
            results[label].append(json.loads(done.stdout))
            print(f"  {backend} round {r + 1} {label} done", file=sys.stderr)
    lines = [
        f"### {backend}: {n_posts:,} posts, {rounds} rounds of {iterations} pages per case",
        "",
        "| case (100 per page) | rows | p50 before | p50 after | CPU/page before "
        "| CPU/page after |",
        "|---|---|---|---|---|---|",
    ]
    for case in results["before"][0]:

        def med(label: str, i: int, case: str = case) -> float:
            return statistics.median(run[case][i] for run in results[label])

        rows = f"{results['before'][0][case][2]} / {results['after'][0][case][2]}"
        lines.append(
            f"| {case} | {rows} | {med('before', 0):.2f} ms | {med('after', 0):.2f} ms | "
            f"{med('before', 1):.2f} ms | {med('after', 1):.2f} ms |"
        )
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        url, author_id, mentioned_id, iterations = sys.argv[2:6]
        print(json.dumps(child(url, int(author_id), int(mentioned_id), int(iterations))))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--other", type=Path, required=True, help="the other tree's src folder")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--iterations", type=int, default=300)
    opts = parser.parse_args()
    backends = ["sqlite", "postgresql"] if opts.backend == "both" else [opts.backend]
    for backend in backends:
        print(compare(backend, opts.other, opts.posts, opts.rounds, opts.iterations))
        print()


if __name__ == "__main__":
    main()
