"""The spool drainer (the "store process"): stores one server process's spooled usage events in
the SQL store (sql_store.py), outside the server's GIL.

Storing a batch (`record_events`: rows, rollups, HLL sketches) is mostly Python work. Done by a
thread of the serving process it held the GIL that the spool thread and the event loop need to
hand a strict acknowledgement on, adding to its p99 (bench/RESULTS.md, Metering). So the serving
process only appends to its spool and fsyncs; this process, one per spool owner, follows the
owner's segments (`SpoolTail`), stores what they hold every `store_interval_s`, and deletes a
segment once everything in it is stored.

It holds the owner's store lock (spool.py): a replayer takes the server's lock only once the
server is dead, and then waits for this one. The server holds the write end of the child's
stdin: end of file — a clean stop or the server's death, even by SIGKILL — means no more
appends, and the child drains everything left, deletes the segments and exits. If the child
dies while the server lives, the server starts another, which reads the owner's segments again
from the oldest left; storing is idempotent by request id, so nothing is counted twice.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.engine import Engine

from tollhouse.metering.event import UsageEvent
from tollhouse.metering.spool import DRAIN_WAIT_S, Spool, SpoolTail, lock_store, store_lock_path

log = logging.getLogger("tollhouse.metering")

STORE_BATCH_MAX = 20_000
STORE_RETRY_S = 0.5
RESPAWN_DELAY_S = 0.5
EXIT_STORE_DOWN = 3  # the store failed while draining: the events stay in the spool
# The store process runs at this much lower CPU priority than its server. Nothing waits for it
# (a strict response waits only for the spool's fsync), but it stores in bursts (a batch every
# store_interval_s), and on a core it shares with its server a burst at equal priority delays
# every request in flight by its length. Lower, the scheduler fits it into the server's idle
# time; at nice 10 it still gets about a tenth of a busy core, several times what it needs
# (bench/RESULTS.md, Metering), so it keeps up under sustained load.
STORE_NICENESS = 10


class SpoolDrainer:
    """The serving side: starts the store process, restarts it if it dies, drains it on stop."""

    def __init__(
        self, engine: Engine, directory: Engine, spool: Spool, store_interval_s: float
    ) -> None:
        self._config = json.dumps(
            {
                "url": engine.url.render_as_string(hide_password=False),
                "directory_url": directory.url.render_as_string(hide_password=False),
                "spool_dir": str(spool.directory.resolve()),
                "owner": spool.owner,
                "store_interval_s": store_interval_s,
            }
        )
        self._guard = threading.Lock()
        self._stopping = False
        self._proc: subprocess.Popen[bytes] | None = None
        self._supervisor: threading.Thread | None = None

    def start(self) -> None:
        self._proc = self._spawn()
        self._supervisor = threading.Thread(
            target=self._supervise, name="usage-store-supervisor", daemon=True
        )
        self._supervisor.start()

    def _spawn(self) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tollhouse.metering.spool_drainer"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,  # logs go to stderr, like the server's
        )
        assert proc.stdin is not None
        # A child that died at once (see `_supervise`) has closed its end already.
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.write(self._config.encode() + b"\n")
            proc.stdin.flush()
        return proc

    def _supervise(self) -> None:
        while True:
            proc = self._proc
            assert proc is not None
            code = proc.wait()
            with self._guard:
                if self._stopping:
                    return
            log.error("usage store process %d exited (%s); starting another", proc.pid, code)
            time.sleep(RESPAWN_DELAY_S)  # a store process failing at once must not spin
            with self._guard:
                if self._stopping:
                    return
                try:
                    self._proc = self._spawn()
                except OSError:  # no process left to start (fork failed): try again
                    log.exception("cannot start a usage store process")

    def stop(self) -> bool:
        """No more appends: let the store process drain the spool and wait for it. True if
        everything was stored (else the events stay in the spool for the next replay)."""
        with self._guard:
            self._stopping = True
            proc = self._proc
        if proc is None:
            return True
        code = _close_and_wait(proc)
        if code not in (0, EXIT_STORE_DOWN):
            # It died on its own (killed, crashed) before or while draining: one more drains.
            log.error("usage store process %d exited (%s) while draining; again", proc.pid, code)
            try:
                code = _close_and_wait(self._spawn())
            except OSError:
                log.exception("cannot start a usage store process")
                code = -1
        if self._supervisor is not None:
            self._supervisor.join()
        return code == 0


def _close_and_wait(proc: subprocess.Popen[bytes]) -> int:
    assert proc.stdin is not None
    with contextlib.suppress(BrokenPipeError, OSError):
        proc.stdin.close()
    return proc.wait()


# -- the store process itself ----------------------------------------------------------------


def _store(engine: Engine, directory: Engine, events: Sequence[UsageEvent], draining: bool) -> bool:
    """Store `events` in batches, retrying while the server lives; False if the store is down
    while draining (one attempt per batch then: a stopping server must not hang on it)."""
    from tollhouse.metering.sql_store import record_events

    for i in range(0, len(events), STORE_BATCH_MAX):
        batch = events[i : i + STORE_BATCH_MAX]
        while True:
            try:
                record_events(engine, batch, directory)
                break
            except Exception:
                # Broad on purpose: the ingest path uses raw DB-API cursors, whose errors
                # SQLAlchemy does not wrap; the events are safe in the spool meanwhile.
                log.exception("storing %d usage events failed", len(batch))
                if draining or _wait_for_end(STORE_RETRY_S):
                    return False
    return True


def _wait_for_end(timeout: float) -> bool:
    """Wait up to `timeout` s; True once stdin is at its end (the server stopped or died)."""
    readable, _, _ = select.select([sys.stdin.buffer], [], [], timeout)
    if not readable:
        return False
    return os.read(sys.stdin.buffer.fileno(), 4096) == b""


def run(config: dict[str, object]) -> int:
    from tollhouse.db import create_engine

    directory = Path(str(config["spool_dir"]))
    owner = str(config["owner"])
    interval = float(str(config["store_interval_s"]))
    # A predecessor that was killed has released it; a replayer holds it only once the server
    # is dead, and then stores everything itself.
    store_fd = lock_store(directory, owner, DRAIN_WAIT_S)
    if store_fd is None:
        log.error("spool owner %s: store lock busy; exiting", owner)
        return EXIT_STORE_DOWN
    engine = create_engine(str(config["url"]))
    licensees_url = str(config.get("directory_url") or config["url"])
    licensees = engine if licensees_url == config["url"] else create_engine(licensees_url)
    tail = SpoolTail(directory, owner)
    draining = False
    try:
        while True:
            if not draining and _wait_for_end(interval):
                draining = True
            events, finished = tail.read(final=draining)
            if events and not _store(engine, licensees, events, draining):
                log.error("usage store unreachable at shutdown; events left in the spool")
                return EXIT_STORE_DOWN
            for path in finished:  # every event they hold is stored now
                path.unlink(missing_ok=True)
            if draining:
                store_lock_path(directory, owner).unlink(missing_ok=True)
                return 0
    finally:
        engine.dispose()
        licensees.dispose()
        os.close(store_fd)


def main() -> None:
    # Ctrl-C in a terminal and a service manager's SIGTERM reach the whole process group: this
    # process must outlive them to drain; the server's end (stdin at EOF) is what stops it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with contextlib.suppress(OSError, AttributeError):  # AttributeError: no os.nice (Windows)
        os.nice(STORE_NICENESS)
    logging.basicConfig(
        level=logging.INFO, format=f"%(asctime)s usage-store[{os.getpid()}] %(message)s"
    )
    config = json.loads(sys.stdin.buffer.readline())
    sys.exit(run(config))


if __name__ == "__main__":
    main()
