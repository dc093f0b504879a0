"""The usage recorder: hot path → in-memory buffer → group-committed spool (spool.py) → spool
drainer (spool_drainer.py) → SQL store (sql_store.py).

A slow store never delays an acknowledgement: writing the spool (a group commit: one record,
one fsync, for everything buffered) is separate from storing. Storing — spooled batches in
larger transactions (`record_events`: idempotent, rollups and sketches in the same
transaction), then deleting segments that are fully stored — is done by a store process of its
own (spool_drainer.py) by default, so that its Python work does not hold this process's GIL
while an acknowledgement is handed on; `store="thread"` does it in a thread of this process
(SQLite in memory cannot be shared with another process, so it uses that).

Modes: in `strict` the edge awaits `record_durably`, resolved after the group commit that
fsyncs its event, so a response leaves only once its event is on disk. `fast` only appends to a
deque that the spool thread writes every `FAST_FLUSH_INTERVAL_S` (50 ms): a crash loses at most
the events of the last interval plus the one write in flight — under 100 ms of traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tollhouse.errors import ConfigurationError
from tollhouse.metering.errors import MeteringUnavailable
from tollhouse.metering.event import UsageEvent
from tollhouse.metering.models import usage_events
from tollhouse.metering.spool import Spool, orphans, read_segment, spool_dir_for
from tollhouse.metering.spool_drainer import STORE_BATCH_MAX, STORE_RETRY_S, SpoolDrainer
from tollhouse.metering.sql_store import record_events
from tollhouse.metering.timing import LatencyHistogram
from tollhouse.settings import Settings

log = logging.getLogger("tollhouse.metering")

FAST_FLUSH_INTERVAL_S = 0.05
STRICT_SWITCH_INTERVAL_S = 0.0005
_STOP = object()


@dataclass(frozen=True, slots=True)
class ReplayReport:
    segments: int
    events_read: int
    events_inserted: int
    torn_tails: int


def replay_spool(
    engine: Engine,
    spool_dir: Path,
    exclude_owner: str | None = None,
    directory: Engine | None = None,
) -> ReplayReport:
    """Store every event in segments left by dead processes into the usage tables of `engine`
    (`directory`: the licensees' database, if another one), then delete those segments.

    Safe to run any number of times, from any number of processes: storing is idempotent by
    request id and each dead owner is replayed under its lock."""
    segments = read = inserted = torn = 0
    for orphan in orphans(spool_dir, exclude_owner):
        ok = False
        try:
            for path in orphan.segments:
                contents = read_segment(path)
                segments += 1
                read += len(contents.events)
                torn += contents.torn_tail
                for i in range(0, len(contents.events), STORE_BATCH_MAX):
                    batch = contents.events[i : i + STORE_BATCH_MAX]
                    inserted += record_events(engine, batch, directory)
            ok = True
        finally:
            orphan.release(delete=ok)
    if segments:
        log.warning(
            "replayed %d spool segments: %d events, %d new, %d torn tails",
            segments,
            read,
            inserted,
            torn,
        )
    return ReplayReport(segments, read, inserted, torn)


_Waiter = tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]


class UsageRecorder:
    """Records usage events durably; one per server process."""

    def __init__(
        self,
        engine: Engine,
        spool_dir: Path,
        mode: Literal["strict", "fast"] = "strict",
        store_interval_s: float = 0.2,
        group_commit: Literal["thread", "loop"] = "thread",
        store: Literal["process", "thread"] = "process",
        directory: Engine | None = None,
    ) -> None:
        # `engine`: the usage tables' database; `directory`: the licensees' (their declared end
        # users), which names the spool, when it is another one (db.usage_database_url).
        self.engine = engine
        self.directory = directory or engine
        self.group_commit = group_commit
        in_memory = engine.url.get_backend_name() == "sqlite" and engine.url.database in (
            None,
            "",
            ":memory:",
        )
        self.store: Literal["process", "thread"] = "thread" if in_memory else store
        self.spool_dir = spool_dir_for(spool_dir, self.directory)  # this deployment's own
        self.mode = mode
        self.store_interval_s = store_interval_s
        # Events nobody waits for; a deque drained by popleft, because appends come without a
        # lock and swapping a list could lose an append that raced the swap.
        self._pending: deque[UsageEvent] = deque()
        # Strict events with their waiting futures (written by the spool thread, or by the
        # waiting loop itself with group_commit="loop").
        self._durable: list[tuple[UsageEvent, asyncio.AbstractEventLoop, asyncio.Future[None]]]
        self._durable = []
        self._flush_scheduled: set[asyncio.AbstractEventLoop] = set()
        self._lock = threading.Lock()
        self._spool_lock = threading.Lock()
        self._wake = threading.Condition(threading.Lock())
        self._stopping = False
        self._spool_idle = True  # the spool thread is (about to be) waiting for work
        self._store_queue: queue.Queue[object] = queue.Queue()
        self._spool: Spool | None = None
        self._store_process: SpoolDrainer | None = None
        self._threads: list[threading.Thread] = []
        self._spool_error: BaseException | None = None
        self.stored_events = 0
        # For /admin/v1/metrics: every spool write (one record, one durable write, per group),
        # and how long strict responses waited for theirs (the metering middleware observes it).
        self.group_commits = 0
        self.events_spooled = 0
        self.durable_writes = LatencyHistogram()
        self.acknowledgements = LatencyHistogram()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> ReplayReport:
        """Replay what dead processes left in the spool, then start recording."""
        if not sa.inspect(self.engine).has_table(usage_events.name):
            # Say so at start-up, not once per store attempt forever after: a usage database
            # of its own (db.usage_database_url) exists only once `db upgrade` made it.
            where = self.engine.url.render_as_string(hide_password=True)
            raise ConfigurationError(
                f"no usage tables in {where}: run `tollhouse db upgrade` (it creates them, and"
                " moves usage recorded before they had a database of their own)"
            )
        self._spool = Spool(self.spool_dir)
        if self.mode == "strict" and sys.getswitchinterval() > STRICT_SWITCH_INTERVAL_S:
            # After its fsync the spool thread needs the GIL to wake the waiting loop; a busy
            # loop holds it for the whole switch interval (5 ms by default), which would be
            # added to every strict response. 0.5 ms bounds that wait.
            sys.setswitchinterval(STRICT_SWITCH_INTERVAL_S)
        report = replay_spool(
            self.engine, self.spool_dir, exclude_owner=self._spool.owner, directory=self.directory
        )
        self._threads = [threading.Thread(target=self._spool_loop, name="usage-spool", daemon=True)]
        if self.store == "thread":
            self._threads.append(
                threading.Thread(target=self._store_loop, name="usage-store", daemon=True)
            )
        else:
            self._store_process = SpoolDrainer(
                self.engine, self.directory, self._spool, self.store_interval_s
            )
            self._store_process.start()
        for thread in self._threads:
            thread.start()
        return report

    def stop(self) -> None:
        """Drain the buffer to the spool and the spool to the store, then close."""
        with self._wake:
            self._stopping = True
            self._wake.notify()
        for thread in self._threads:
            thread.join()
        self._threads = []
        if self._store_process is not None:
            assert self._spool is not None
            self._spool.close_segment()
            all_stored = self._store_process.stop()
            if not all_stored:
                log.error("usage events left in the spool; the next start replays them")
            self._spool.release_lock(delete=all_stored)
            self._store_process = None

    # -- hot path --------------------------------------------------------------------------

    def pending_count(self) -> int:
        """Events appended but not yet taken by the writer (for the metrics endpoint)."""
        return len(self._pending)

    def metrics(self) -> dict[str, object]:
        """This writer's counters and latency histograms, for the metrics endpoint."""
        return {
            "pending_events": self.pending_count(),
            "group_commits": self.group_commits,
            "events_spooled": self.events_spooled,
            "durable_write_ms": self.durable_writes.snapshot(),
            "acknowledgement_ms": self.acknowledgements.snapshot(),
        }

    def record(self, event: UsageEvent) -> None:
        """Buffer `event`; nobody waits for it (fast mode, streams). Spooled within 50 ms."""
        self._pending.append(event)  # deque.append is thread-safe

    def record_durably(self, event: UsageEvent) -> asyncio.Future[None]:
        """Buffer `event`; the future resolves once it is fsynced to the spool (strict mode).

        Group commit: every event buffered while one fsync is in progress shares the next one.
        By default the spool thread writes (fdatasync releases the GIL, so the event loop keeps
        serving); with `group_commit="loop"` the loop itself writes, as the next thing it does,
        which saves a thread wake-up but blocks every request in flight for each fsync
        (bench/metering.py compares them)."""
        if self._spool_error is not None:
            raise MeteringUnavailable(f"usage spool unavailable: {self._spool_error}")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        if self.group_commit == "thread":
            with self._lock:
                self._durable.append((event, loop, future))
            # Wake the spool thread only if it is asleep: while it is committing a group it
            # takes everything buffered when it comes back, and a notify per request (a lock
            # round trip each) was a visible share of the loop's time. `_spool_idle` is set
            # before the thread checks `_durable`, so either it sees this event or we see it idle.
            if self._spool_idle:
                with self._wake:
                    self._wake.notify()
            return future
        with self._lock:
            self._durable.append((event, loop, future))
            schedule = loop not in self._flush_scheduled
            if schedule:
                self._flush_scheduled.add(loop)
        if schedule:
            loop.call_soon(self._flush_durable, loop)
        return future

    def _flush_durable(self, loop: asyncio.AbstractEventLoop | None) -> None:
        with self._lock:
            self._flush_scheduled.discard(loop)
            items, self._durable = self._durable, []
        if not items:
            return
        error = self._append([e for e, _, _ in items])
        waiters: list[_Waiter] = [(lp, future) for _, lp, future in items]
        local = [f for lp, f in waiters if lp is loop]
        if local:
            _resolver(local, error)()
        _resolve([(lp, f) for lp, f in waiters if lp is not loop], error)

    def _append(self, events: list[UsageEvent]) -> BaseException | None:
        """Write and fsync one group; queue it for the store. Returns the error, if any."""
        assert self._spool is not None
        try:
            with self._spool_lock:
                started = time.perf_counter()
                seq = self._spool.append(events)
                self.durable_writes.observe(time.perf_counter() - started)
                self.group_commits += 1
                self.events_spooled += len(events)
        except OSError as exc:
            log.exception("usage spool write failed")
            self._spool_error = exc
            return exc
        if self.store == "thread":
            self._store_queue.put((seq, events))
        return None

    # -- spool thread ---------------------------------------------------------------------

    def _spool_loop(self) -> None:
        while True:
            with self._wake:
                self._spool_idle = True
                if not self._stopping and not self._durable:
                    self._wake.wait(FAST_FLUSH_INTERVAL_S)
                self._spool_idle = False
                stopping = self._stopping
            popleft = self._pending.popleft
            events = [popleft() for _ in range(len(self._pending))]
            if events:
                self._append(events)
            # Strict events: those the thread commits, and any a loop did not get to.
            self._flush_durable(None)
            if stopping:
                if self.store == "thread":
                    self._store_queue.put(_STOP)
                return

    # -- store thread (store="thread") ------------------------------------------------------

    def _store_loop(self) -> None:
        assert self._spool is not None
        done = False
        while not done:
            item = self._store_queue.get()
            batch: list[UsageEvent] = []
            last_seq = 0
            deadline = time.monotonic() + self.store_interval_s
            while True:
                if item is _STOP:
                    done = True
                    break
                seq, events = cast(tuple[int, list[UsageEvent]], item)
                batch.extend(events)
                last_seq = seq
                if len(batch) >= STORE_BATCH_MAX:
                    break
                timeout = deadline - time.monotonic()
                try:
                    item = (
                        self._store_queue.get(timeout=max(timeout, 0))
                        if timeout > 0
                        else (self._store_queue.get_nowait())
                    )
                except queue.Empty:
                    break
            if batch:
                if not self._store_with_retry(batch):
                    # Shutting down with the store unreachable: the spool keeps the events and
                    # the next start (of any process on this spool) replays them.
                    log.error("store unreachable at shutdown; usage events left in the spool")
                    self._spool.close(all_stored=False)
                    return
                self._spool.stored_through(last_seq)
        self._spool.close(all_stored=self._spool_error is None)

    def _store_with_retry(self, batch: list[UsageEvent]) -> bool:
        """Store `batch`, retrying; False if still failing once shutdown has begun."""
        while True:
            try:
                record_events(self.engine, batch, self.directory)
                self.stored_events += len(batch)
                return True
            except Exception:
                # The events are safe in the spool; keep trying (a concurrent writer of the same
                # ids, a locked SQLite file, a PostgreSQL restart). Broad on purpose: the ingest
                # path uses raw DB-API cursors, whose errors SQLAlchemy does not wrap, and a dead
                # store thread would silently stop all recording.
                log.exception("storing %d usage events failed; retrying", len(batch))
                if self._stopping:
                    return False
                time.sleep(STORE_RETRY_S)


def _resolve(waiters: list[_Waiter], error: BaseException | None) -> None:
    by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
    for loop, future in waiters:
        by_loop.setdefault(loop, []).append(future)
    for loop, futures in by_loop.items():
        callback: Callable[[], None] = _resolver(futures, error)
        # A closed loop means nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(callback)


def _resolver(
    futures: list[asyncio.Future[None]], error: BaseException | None
) -> Callable[[], None]:
    def resolve() -> None:
        for future in futures:
            if future.done():
                continue
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(MeteringUnavailable(f"usage spool unavailable: {error}"))

    return resolve


def recorder_from_settings(
    settings: Settings, usage: Engine, directory: Engine
) -> UsageRecorder | None:
    """The writer `settings.metering_mode` asks for (None when metering is off), storing into
    `usage`; not started."""
    if settings.metering_mode == "off":
        return None
    return UsageRecorder(
        usage, settings.spool_dir, mode=settings.metering_mode, directory=directory
    )
