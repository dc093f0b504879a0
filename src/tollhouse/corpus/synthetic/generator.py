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

Users come from `corpus.synthetic_users`, posts from `corpus.synthetic_posts`. Where the
platform can fork, generation runs in a child process that sends finished batches (marshal or
pickle bytes) through a pipe, and the calling process writes them through `corpus.bulk`: the
two then run on two cores with no GIL between them. Elsewhere a writer thread takes the
batches (the SQLite and PostgreSQL drivers release the GIL while the database works).
"""

from __future__ import annotations

import gc
import marshal
import multiprocessing
import os
import pickle
import struct
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from tollhouse.corpus.models import users as users_table
from tollhouse.corpus.synthetic.bulk import write_batch
from tollhouse.corpus.synthetic.bulk_rows import (
    BatchResult,
    PostBatch,
    RowEncoding,
    clock_strings,
    encoding_for,
)
from tollhouse.corpus.synthetic.bulk_staged import (
    bind_flags_and_nulls_fast,
    stage_batch,
    write_staged,
)
from tollhouse.corpus.synthetic.frames import FrameReader, send_frame
from tollhouse.corpus.synthetic.posts import PostMaker, hourly_counts
from tollhouse.corpus.synthetic.spec import CorpusSpec, GenerationStats
from tollhouse.corpus.synthetic.users import Population, avoid_taken_usernames, build_population
from tollhouse.errors import InvalidInput

__all__ = [
    "CorpusSpec",
    "GenerationStats",
    "bulk_mode",
    "generate_corpus",
    "iter_batches",
    "post_batches",
]

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
    if spec.posts:
        yield from post_batches(spec, PostMaker(spec, pop, encoding), batch_size)


def post_batches(
    spec: CorpusSpec, maker: PostMaker, batch_size: int, ramp: bool = False, short: bool = False
) -> Iterator[PostBatch]:
    """The posts of the corpus in time order, in batches of `batch_size` (`short`: rows for
    `bulk_staged.stage_batch` without the constant columns, see `PostMaker.batches`).

    With `ramp`, batches start at an eighth of `batch_size`, double up to it, and halve again
    towards the end (the rows are the same, only cut differently): a pipeline of processes
    then fills and drains in a small batch's time instead of a full one's (≈ 0.3 s per stage
    for 20 k posts, measured; against ≈ 4 s for a whole 200 k run).
    """
    if not ramp:
        yield from maker.batches(hourly_counts(spec, maker), batch_size, short)
        return
    step = max(1, batch_size // 8)
    yield from _ramped(
        maker.batches(hourly_counts(spec, maker), step, short), step, batch_size, spec.posts
    )


def _ramped(
    steps: Iterator[PostBatch], step: int, batch_size: int, total: int
) -> Iterator[PostBatch]:
    """Join `step`-sized post batches into batches that grow from `step` to `batch_size` and
    shrink to about half of what is left near the end."""
    posts: list[Any] = []
    facets: list[Any] = []
    sent = 0
    up = step
    target = step
    for batch in steps:
        posts += batch.posts
        facets += batch.facets
        if len(posts) >= target:
            yield PostBatch(posts=posts, facets=facets, users=[])
            sent += len(posts)
            posts, facets = [], []
            up = min(batch_size, up * 2)
            target = min(up, max(step, (total - sent) // 2))
    if posts:
        yield PostBatch(posts=posts, facets=facets, users=[])


def generate_corpus(
    engine: Engine,
    posts: int,
    users: int,
    seed: int = 0,
    start: datetime | None = None,
    end: datetime | None = None,
    progress: bool = True,
    batch_size: int = DEFAULT_BATCH,
    upgrade: Callable[[], None] | None = None,
) -> GenerationStats:
    """Generate a corpus into the database behind `engine`, one transaction per batch; ids
    already present are left alone, so running it twice changes nothing.

    The database must be migrated, or `upgrade` given: it brings the schema up to date before
    anything is written. On a new database (no users table yet, so no username can be taken)
    it runs once the generating process has what it needs to start on the posts, instead of
    before: importing Alembic and migrating (≈ 0.11 s) then overlaps the generation instead
    of delaying it (`tollhouse corpus generate`).
    """
    spec = CorpusSpec.create(posts, users, seed, start, end)
    encoding = encoding_for(engine)
    began = time.perf_counter()
    deferred = upgrade is not None and not _has_users_table(engine)
    if upgrade is not None and not deferred:
        upgrade()

    def population() -> Population:
        pop = build_population(spec, encoding)
        if not deferred:  # a new database has no usernames to avoid
            avoid_taken_usernames(engine, pop)
        return pop

    def ready() -> None:  # called before the first write
        if deferred and upgrade is not None:
            upgrade()

    written_posts = 0
    written_users = 0
    batches = _forked_batches if _CAN_FORK else _threaded_batches
    # Entered left to right: the children fork before the progress bar starts its refresh
    # thread, so they copy a process with one thread.
    with (
        bulk_mode(),
        batches(engine, spec, encoding, batch_size, population, ready) as results,
        _progress_bar(spec, progress) as advance,
    ):
        for result, size in results:
            written_posts += result.posts
            written_users += result.users
            advance(size)
    return GenerationStats(
        spec=spec,
        posts_written=written_posts,
        users_written=written_users,
        seconds=time.perf_counter() - began,
    )


_CAN_FORK = "fork" in multiprocessing.get_all_start_methods()
# Messages between the processes: a tag byte, then the payload.
_BATCH, _ERROR, _DONE = b"B", b"E", b"D"
_COUNT = struct.Struct("<Q")  # posts in a staged batch, ahead of the staged database
_Results = Iterator[tuple[BatchResult, int]]
# What the generating process sends the staging one: rows to stage, or a batch it staged.
_ROWS, _STAGED = b"R", b"S"
# marshal format 2 has no back-references: per post 1.7 µs to dump against 3.4 for the
# default format 4 (which hashes every object to find repeats), 2.2 µs to load against 1.6.
# The generating process is the busiest of the three, so it gets the cheaper end.
_MARSHAL_VERSION = 2


@contextmanager
def _forked_batches(
    engine: Engine,
    spec: CorpusSpec,
    encoding: RowEncoding,
    batch_size: int,
    population: Callable[[], Population],
    ready: Callable[[], None],
) -> Iterator[_Results]:
    """Generate and prepare batches in forked children, write them here: (result, posts in
    batch) for each batch. `ready` is called before the first write, after the population
    has gone to the generating child.

    CPU per post on the 2-core box (200 k posts): generation ≈ 12 µs, and writing rows
    through multi-row INSERTs ≈ 20 µs, of which only ≈ 10 µs is SQLite's B-tree and FTS work
    (the rest is binding parameters). In one process the GIL let the two overlap only partly:
    ≈ 30 k posts/s at best. So for SQLite three processes share the two cores:

    1. generate: rows → marshal bytes (format 2, 1.7 µs per post);
    2. stage: marshal.loads (1.4 µs), then bind the rows into an in-memory SQLite database
       and serialise it (`bulk_staged.stage_batch`, ≈ 5 µs with
       `bulk_staged.bind_flags_and_nulls_fast`);
    3. write (this process): `INSERT … SELECT` from the deserialised copy
       (`bulk_staged.write_staged`, ≈ 10 µs).

    On two cores the generating process stages part of the batches itself (no marshal round
    trip for those; `_self_staged_share`) and the staging process passes them on in order.

    The children fork before the population exists: while this process builds it (≈ 0.25 s
    for 20 k users) and checks usernames against the database, the generating child draws its
    text pools and pre-tokenises them (≈ 0.25 s), then receives the population and starts on
    the posts. The users' rows go to the staging child, idle until the first posts come, and
    come back staged ahead of them: writing 20 k users took this process ≈ 0.12 s with the
    rows bound here, while the first staged posts waited (then the generating child).

    PostgreSQL rows hold datetimes and lists, which marshal cannot carry, so they go as pickle
    from the generating child straight to this process (COPY is the writer there). Batches
    cross the pipes as `corpus.frames` messages; each sender blocks until its reader takes
    the batch, so at most a few batches are in memory.
    """
    ctx = multiprocessing.get_context("fork")
    sqlite = not encoding.postgres
    pop_reader, pop_writer = ctx.Pipe(duplex=False)
    rows_reader, rows_writer = ctx.Pipe(duplex=False)
    staged_reader, staged_writer = ctx.Pipe(duplex=False) if sqlite else (None, None)
    users_reader, users_writer = ctx.Pipe(duplex=False) if sqlite else (None, None)
    ends = [pop_reader, pop_writer, rows_reader, rows_writer, staged_reader, staged_writer]
    ends += [users_reader, users_writer]

    def only(*keep: Any) -> None:  # in a child: close the pipe ends it does not use
        for end in ends:
            if end is not None and all(end is not k for k in keep):
                end.close()

    def generate() -> None:
        only(pop_reader, rows_writer)
        _keep_freed_memory()

        def encoded() -> Iterator[bytes]:
            maker = PostMaker.prepared(spec, encoding)
            ids, usernames, languages, activity, engagement, followers = marshal.loads(
                pop_reader.recv_bytes()
            )
            pop_reader.close()
            if not spec.posts:
                return
            maker.attach(
                Population(ids, usernames, languages, activity, engagement, followers, rows=[])
            )
            share = _self_staged_share() if sqlite else 0.0
            if share:
                bind_flags_and_nulls_fast()
            made = mine = 0
            for batch in post_batches(spec, maker, batch_size, ramp=True, short=sqlite):
                rows = (batch.posts, batch.facets, batch.users)
                made += len(batch.posts)
                if sqlite and mine + len(batch.posts) <= share * made:
                    mine += len(batch.posts)
                    yield _STAGED + _COUNT.pack(len(batch.posts)) + stage_batch(batch)
                elif sqlite:
                    yield _ROWS + marshal.dumps(rows, _MARSHAL_VERSION)
                else:
                    yield pickle.dumps(rows, pickle.HIGHEST_PROTOCOL)

        _send_all(rows_writer, encoded())

    def stage() -> None:
        only(rows_reader, staged_writer, users_reader)
        _keep_freed_memory()
        bind_flags_and_nulls_fast()

        def staged() -> Iterator[bytes | memoryview]:
            assert users_reader is not None
            users = marshal.loads(users_reader.recv_bytes())  # first, while posts are begun
            users_reader.close()
            for k in range(0, len(users), batch_size):
                yield _COUNT.pack(0) + stage_batch(PostBatch([], [], users[k : k + batch_size]))
            del users
            for payload in _receive_all(rows_reader):
                if payload[:1] == _STAGED:  # staged by the generating process: pass it on
                    yield payload[1:]
                    continue
                posts, facets, users = marshal.loads(payload[1:])
                yield _COUNT.pack(len(posts)) + stage_batch(PostBatch(posts, facets, users))

        _send_all(staged_writer, staged())

    children = [ctx.Process(target=generate, name="tollhouse-generate", daemon=True)]
    if sqlite:
        children.append(ctx.Process(target=stage, name="tollhouse-stage", daemon=True))
    # The timestamp table (86 400 strings, ≈ 0.06 s) is built here, where the population needs
    # it anyway, and the generating child inherits it instead of building its own.
    clock_strings()
    for child in children:
        child.start()
    reader = staged_reader if staged_reader is not None else rows_reader
    for end in ends:
        if end is not None and all(end is not k for k in (reader, pop_writer, users_writer)):
            end.close()

    def results() -> _Results:
        pop = population()
        if users_writer is not None:  # staged by the staging child, idle until the first posts
            users_writer.send_bytes(marshal.dumps(pop.rows, _MARSHAL_VERSION))
            users_writer.close()
        pop_writer.send_bytes(
            marshal.dumps(
                (pop.ids, pop.usernames, pop.languages, pop.activity, pop.engagement, pop.followers)
            )
        )
        pop_writer.close()
        ready()
        if not sqlite:
            for k in range(0, len(pop.rows), batch_size):  # while the child makes the first posts
                yield write_batch(engine, PostBatch([], [], pop.rows[k : k + batch_size])), 0
        for payload in _receive_all(reader):
            if sqlite:
                (count,) = _COUNT.unpack_from(payload)
                yield write_staged(engine, payload[_COUNT.size :]), count
            else:
                posts, facets, users = pickle.loads(payload)
                yield write_batch(engine, PostBatch(posts, facets, users)), len(posts)

    try:
        yield results()
    finally:
        pop_writer.close()
        if users_writer is not None:
            users_writer.close()
        reader.close()
        for child in children:
            if child.is_alive():
                child.terminate()
            child.join()


def _has_users_table(engine: Engine) -> bool:
    from sqlalchemy import inspect

    with engine.connect() as conn:
        return inspect(conn).has_table(users_table.name)


def _self_staged_share() -> float:
    """The share of posts the generating process stages itself instead of marshalling them to
    the staging process (SQLite only).

    On two cores the three processes are bound by their total CPU, and a batch staged where
    it was made skips the marshal round trip (dumps ≈ 1.2 µs per post here, loads ≈ 1.4): the
    generating process can take about half the staging before it becomes the slowest stage
    itself (measured in bench/RESULTS.md). With more cores each process has one, generation
    is the longest stage, and the staging process takes it all.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return 0.5 if cores <= 2 else 0.0


def _keep_freed_memory() -> None:
    """In a generator child (glibc only): keep freed memory for the next batch instead of
    handing it back to the system.

    Each batch allocates and frees some tens of MB (row lists, marshal and staging buffers);
    by default glibc maps blocks above 128 kB afresh and trims the heap on free, so every
    batch faults the same memory in again. Measured for 200 k posts: page faults in the
    children 126 k → 77 k, their system CPU ≈ 3.5 → 2 µs per post. Only in the children: they
    exit after the load, where the calling process (a server, say) should give memory back.
    """
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc
        return
    m_trim_threshold, m_mmap_threshold = -1, -3  # malloc.h
    mallopt(m_trim_threshold, 512 << 20)
    mallopt(m_mmap_threshold, 256 << 20)


def _send_all(pipe: Any, payloads: Iterator[bytes | memoryview]) -> None:
    """Send each payload, then "done" — or the traceback if making them failed."""
    fd = pipe.fileno()
    try:
        for payload in payloads:
            send_frame(fd, _BATCH, payload)
    except BaseException:  # reported to the writer, which raises it there
        send_frame(fd, _ERROR, traceback.format_exc().encode())
    else:
        send_frame(fd, _DONE)
    pipe.close()


def _receive_all(pipe: Any) -> Iterator[memoryview]:
    """The payloads `_send_all` sent, each valid until the next is asked for; raises if the
    sender reported a failure."""
    frames = FrameReader(pipe.fileno())
    while True:
        message = frames.read()
        tag = message[:1]
        if tag == _DONE:
            return
        if tag == _ERROR:
            raise RuntimeError(f"corpus generator failed:\n{bytes(message[1:]).decode()}")
        yield message[1:]


@contextmanager
def _threaded_batches(
    engine: Engine,
    spec: CorpusSpec,
    encoding: RowEncoding,
    batch_size: int,
    population: Callable[[], Population],
    ready: Callable[[], None],
) -> Iterator[_Results]:
    """Generate in this thread and write in a second one (where fork is not available)."""

    def results() -> _Results:
        pop = population()
        ready()
        with ThreadPoolExecutor(1) as pool:
            pending: Future[BatchResult] | None = None
            pending_size = 0
            for batch in iter_batches(spec, encoding, batch_size, pop):
                # One batch is written while the next is generated; waiting bounds memory.
                if pending is not None:
                    yield pending.result(), pending_size
                pending = pool.submit(write_batch, engine, batch)
                pending_size = len(batch.posts)
            if pending is not None:
                yield pending.result(), pending_size

    yield results()


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
