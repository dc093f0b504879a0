"""The usage writer: hot path → in-memory buffer → group-committed spool → SQL store.

Two threads, so that a slow store never delays an acknowledgement:

- the spool thread takes everything buffered, writes it as one record and fsyncs it (a group
  commit), then resolves the waiting requests' futures (strict mode) and queues the batch for
- the store thread, which commits queued batches to the store in larger transactions
  (`record_events`: idempotent, rollups and sketches in the same transaction), then lets the
  spool delete segments that are fully stored.

Modes: `strict` wakes the spool thread on every event and the edge awaits the event's future, so
a response leaves only once its event is on disk. `fast` flushes every `FAST_FLUSH_INTERVAL_S`
(50 ms) and nobody waits: a crash loses at most the events of the last interval plus the one
write in flight — under 100 ms of traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from tollhouse.errors import TollhouseError
from tollhouse.metering.event import UsageEvent
from tollhouse.metering.spool import Spool, orphans, read_segment
from tollhouse.metering.store import record_events
from tollhouse.settings import Settings

log = logging.getLogger("tollhouse.metering")

FAST_FLUSH_INTERVAL_S = 0.05
STORE_BATCH_MAX = 20_000
STORE_RETRY_S = 0.5
_STOP = object()


class MeteringUnavailable(TollhouseError):
    """The spool cannot be written, so a strict-mode request cannot be answered."""


@dataclass(frozen=True, slots=True)
class ReplayReport:
    segments: int
    events_read: int
    events_inserted: int
    torn_tails: int


def replay_spool(engine: Engine, spool_dir: Path, exclude_owner: str | None = None) -> ReplayReport:
    """Store every event in segments left by dead processes, then delete those segments.

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
                    inserted += record_events(engine, contents.events[i : i + STORE_BATCH_MAX])
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


class UsageWriter:
    """Records usage events durably; one per server process."""

    def __init__(
        self,
        engine: Engine,
        spool_dir: Path,
        mode: Literal["strict", "fast"] = "strict",
        store_interval_s: float = 0.2,
    ) -> None:
        self.engine = engine
        self.spool_dir = Path(spool_dir)
        self.mode = mode
        self.store_interval_s = store_interval_s
        # A deque, drained by popleft: fast mode appends without the lock, and swapping a list
        # could lose an append that raced the swap.
        self._pending: deque[UsageEvent] = deque()
        self._waiters: list[_Waiter] = []
        self._wake = threading.Condition(threading.Lock())
        self._stopping = False
        self._store_queue: queue.Queue[object] = queue.Queue()
        self._spool: Spool | None = None
        self._threads: list[threading.Thread] = []
        self._spool_error: BaseException | None = None
        self.stored_events = 0

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> ReplayReport:
        """Replay what dead processes left in the spool, then start recording."""
        self._spool = Spool(self.spool_dir)
        report = replay_spool(self.engine, self.spool_dir, exclude_owner=self._spool.owner)
        self._threads = [
            threading.Thread(target=self._spool_loop, name="usage-spool", daemon=True),
            threading.Thread(target=self._store_loop, name="usage-store", daemon=True),
        ]
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

    # -- hot path --------------------------------------------------------------------------

    def record(self, event: UsageEvent) -> None:
        """Buffer `event` (fast mode: nobody waits for it)."""
        if self.mode == "fast":
            self._pending.append(event)  # deque.append is thread-safe
            return
        with self._wake:
            self._pending.append(event)
            self._wake.notify()

    def record_durably(self, event: UsageEvent) -> asyncio.Future[None]:
        """Buffer `event`; the future resolves once it is fsynced to the spool (strict mode)."""
        if self._spool_error is not None:
            raise MeteringUnavailable(f"usage spool unavailable: {self._spool_error}")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._wake:
            self._pending.append(event)
            self._waiters.append((loop, future))
            self._wake.notify()
        return future

    # -- spool thread ----------------------------------------------------------------------

    def _take(self) -> tuple[list[UsageEvent], list[_Waiter], bool]:
        with self._wake:
            if self.mode == "fast":
                if not self._stopping:
                    self._wake.wait(FAST_FLUSH_INTERVAL_S)
            else:
                while not self._pending and not self._stopping:
                    self._wake.wait()
            popleft = self._pending.popleft
            events = [popleft() for _ in range(len(self._pending))]
            waiters, self._waiters = self._waiters, []
            return events, waiters, self._stopping

    def _spool_loop(self) -> None:
        assert self._spool is not None
        while True:
            events, waiters, stopping = self._take()
            if events:
                error: BaseException | None = None
                try:
                    seq = self._spool.append(events)
                except OSError as exc:
                    log.exception("usage spool write failed")
                    error = self._spool_error = exc
                else:
                    self._store_queue.put((seq, events))
                _resolve(waiters, error)
            if stopping:
                self._store_queue.put(_STOP)
                return

    # -- store thread ----------------------------------------------------------------------

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
                self._store_with_retry(batch)
                self._spool.stored_through(last_seq)
        self._spool.close(all_stored=self._spool_error is None)

    def _store_with_retry(self, batch: list[UsageEvent]) -> None:
        while True:
            try:
                record_events(self.engine, batch)
                self.stored_events += len(batch)
                return
            except (OperationalError, IntegrityError, DBAPIError):
                # The events are safe in the spool; keep trying (a concurrent writer of the same
                # ids, a locked SQLite file, a PostgreSQL restart).
                log.exception("storing %d usage events failed; retrying", len(batch))
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


def writer_for(settings: Settings, engine: Engine) -> UsageWriter | None:
    """The writer `settings.metering_mode` asks for (None when metering is off); not started."""
    if settings.metering_mode == "off":
        return None
    return UsageWriter(engine, settings.spool_dir, mode=settings.metering_mode)
