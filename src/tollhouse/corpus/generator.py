"""The synthetic corpus: deterministic users and posts with the shape of a real network.

Same spec (posts, users, seed, window) → identical rows, so demos, tests and benchmarks can
name a corpus by its arguments. The shape:

* author activity is Zipf (rank r posts ∝ 1/r), followers and engagement are heavy-tailed;
* each language has a home time zone, and posts follow a daily cycle in local time (quiet at
  night, peak in the evening), with day-to-day noise;
* text is drawn from per-language word lists (Zipf over word frequency), with hashtags,
  @mentions of existing users, links and cashtags whose entity indices point into the text;
* replies, retweets and quotes reference earlier posts of the same language (recent ones more
  often), so threads form: a reply starts with "@parent", carries in_reply_to_user_id and the
  root's conversation_id; a retweet is "RT @user: <original text>".

Users come from `corpus.synthetic_users`, posts from `corpus.synthetic_posts`. Generation
runs in the calling thread and writing in a second one, through `corpus.bulk` (the SQLite and
PostgreSQL drivers release the GIL while the database works).
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from tollhouse.corpus.bulk import PostBatch, RowEncoding, encoding_for, write_batch
from tollhouse.corpus.synthetic_posts import PostMaker, hourly_counts
from tollhouse.corpus.synthetic_spec import CorpusSpec, GenerationStats
from tollhouse.corpus.synthetic_users import Population, avoid_taken_usernames, build_population
from tollhouse.errors import InvalidInput

__all__ = ["CorpusSpec", "GenerationStats", "bulk_mode", "generate_corpus", "iter_batches"]

DEFAULT_BATCH = 20_000


def iter_batches(
    spec: CorpusSpec,
    encoding: RowEncoding,
    batch_size: int = DEFAULT_BATCH,
    population: Population | None = None,
) -> Iterator[PostBatch]:
    """The corpus as write batches: users first (in batches of `batch_size`), then posts in
    time order. Pure: it touches no database."""
    if batch_size < 1:
        raise InvalidInput("batch size must be positive")
    pop = population if population is not None else build_population(spec, encoding)
    for k in range(0, len(pop.rows), batch_size):
        yield PostBatch(posts=[], facets=[], users=pop.rows[k : k + batch_size])
    if spec.posts == 0:
        return
    maker = PostMaker(spec, pop, encoding)
    yield from maker.batches(hourly_counts(spec, maker), batch_size)


def generate_corpus(
    engine: Engine,
    posts: int,
    users: int,
    seed: int = 0,
    start: datetime | None = None,
    end: datetime | None = None,
    progress: bool = True,
    batch_size: int = DEFAULT_BATCH,
) -> GenerationStats:
    """Generate a corpus into the (migrated) database behind `engine`, one transaction per
    batch; ids already present are left alone, so running it twice changes nothing."""
    spec = CorpusSpec.create(posts, users, seed, start, end)
    encoding = encoding_for(engine)
    began = time.perf_counter()
    pop = build_population(spec, encoding)
    avoid_taken_usernames(engine, pop)
    written_posts = 0
    written_users = 0
    with _progress_bar(spec, progress) as advance, bulk_mode(), ThreadPoolExecutor(1) as pool:
        pending: Future[Any] | None = None
        pending_size = 0
        for batch in iter_batches(spec, encoding, batch_size, pop):
            # One batch is written while the next is generated; waiting here bounds memory.
            if pending is not None:
                result = pending.result()
                written_posts += result.posts
                written_users += result.users
                advance(pending_size)
            pending = pool.submit(write_batch, engine, batch)
            pending_size = len(batch.posts)
        if pending is not None:
            result = pending.result()
            written_posts += result.posts
            written_users += result.users
            advance(pending_size)
    return GenerationStats(
        spec=spec,
        posts_written=written_posts,
        users_written=written_users,
        seconds=time.perf_counter() - began,
    )


@contextmanager
def bulk_mode() -> Iterator[None]:
    """Tune the interpreter for generating while another thread writes; restored on exit.

    * The cyclic garbage collector is paused: rows are acyclic tuples, so it finds nothing,
      but each pass walks every pending row and dict (measured: a quarter of generation time).
    * The GIL switch interval drops from 5 ms to 0.5 ms: the writer thread needs the GIL back
      after each database statement, and would otherwise wait up to 5 ms for it every time.
    """
    enabled = gc.isenabled()
    interval = sys.getswitchinterval()
    gc.disable()
    sys.setswitchinterval(min(interval, 0.0005))
    try:
        yield
    finally:
        sys.setswitchinterval(interval)
        if enabled:
            gc.enable()


class _progress_bar:
    """A rich progress bar over posts written, or nothing when `enabled` is false."""

    def __init__(self, spec: CorpusSpec, enabled: bool) -> None:
        self.spec = spec
        self.enabled = enabled
        self.progress: Any = None

    def __enter__(self) -> Callable[[int], None]:
        if not self.enabled:
            return lambda _n: None
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("[bold]generating[/bold]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("posts"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        self.progress.__enter__()
        task = self.progress.add_task("posts", total=self.spec.posts, rate="")
        began = time.perf_counter()
        done = 0

        def advance(n: int) -> None:
            nonlocal done
            done += n
            rate = done / max(time.perf_counter() - began, 1e-9)
            self.progress.update(task, advance=n, rate=f"{rate:,.0f}/s")

        return advance

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.__exit__(*exc)
