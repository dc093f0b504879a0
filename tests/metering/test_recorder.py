"""The writer: strict acknowledgements only after the spool, drained on stop, replay on start."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.metering.factories import traffic
from tollhouse.db import create_engine
from tollhouse.errors import ConfigurationError
from tollhouse.metering.event import UsageEvent
from tollhouse.metering.recorder import UsageRecorder, replay_spool
from tollhouse.metering.spool import Spool, read_segment, spool_dir_for
from tollhouse.metering.spool_drainer import STORE_NICENESS
from tollhouse.migrations.runner import upgrade


def _stored_ids(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT request_id FROM usage_events")).scalars())


def test_strict_acknowledges_after_the_spool_and_drains_on_stop(
    tmp_path: Path, engine: Engine
) -> None:
    spool_dir = tmp_path / "spool"
    writer = UsageRecorder(engine, spool_dir, mode="strict", store_interval_s=60)
    writer.start()
    events = traffic(random.Random(1), 200)

    async def send_all() -> None:
        await asyncio.gather(*(writer.record_durably(e) for e in events))

    asyncio.run(send_all())
    # Acknowledged: every event is in this process's spool (the store may not have it yet).
    segments = sorted(writer.spool_dir.glob("*.seg"))
    spooled = [e.request_id for s in segments for e in read_segment(s).events]
    assert sorted(spooled) == sorted(e.request_id for e in events)
    writer.stop()
    assert sorted(_stored_ids(engine)) == sorted(e.request_id for e in events)
    assert list(writer.spool_dir.iterdir()) == []  # all stored: segments and lock removed


def test_fast_mode_drains_on_stop(tmp_path: Path, engine: Engine) -> None:
    writer = UsageRecorder(engine, tmp_path / "spool", mode="fast")
    writer.start()
    events = traffic(random.Random(2), 500)
    for e in events:
        writer.record(e)
    writer.stop()
    assert sorted(_stored_ids(engine)) == sorted(e.request_id for e in events)


def test_start_replays_what_a_dead_writer_left(tmp_path: Path, engine: Engine) -> None:
    spool = Spool(spool_dir_for(tmp_path / "spool", engine))
    events = traffic(random.Random(3), 50)
    spool.append(events)
    spool._fd, spool._lock_fd = _close(spool._fd), _close(spool._lock_fd)  # "killed"

    writer = UsageRecorder(engine, tmp_path / "spool", mode="strict")
    report = writer.start()
    writer.stop()
    assert (report.events_read, report.events_inserted) == (50, 50)
    assert sorted(_stored_ids(engine)) == sorted(e.request_id for e in events)


def _close(fd: int) -> int:
    os.close(fd)
    return -1


def test_shutdown_with_the_store_down_leaves_events_in_the_spool(
    tmp_path: Path, engine: Engine
) -> None:
    """The writer must not hang on stop when the store is unreachable; nothing is lost."""
    broken = create_engine(f"sqlite:///{tmp_path / 'breaks' / 'usage.db'}")
    upgrade(broken)
    spool_dir = tmp_path / "spool"
    writer = UsageRecorder(broken, spool_dir, mode="fast")
    writer.start()
    with broken.begin() as conn:  # the store goes down once the writer runs
        conn.exec_driver_sql("DROP TABLE usage_events")
    events = traffic(random.Random(4), 20)
    for e in events:
        writer.record(e)
    writer.stop()  # returns although every store attempt fails (no table there)
    broken.dispose()
    # What `tollhouse usage replay` does once the store is back.
    report = replay_spool(engine, writer.spool_dir)
    assert report.events_inserted == 20
    assert sorted(_stored_ids(engine)) == sorted(e.request_id for e in events)


def _store_processes() -> list[int]:
    """This process's store process children (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if ppid == os.getpid() and b"tollhouse.metering.spool_drainer" in cmdline:
            found.append(int(stat.parent.name))
    return found


def _niceness(pid: int) -> int:
    return int((Path(f"/proc/{pid}") / "stat").read_text().rsplit(")", 1)[1].split()[16])


def test_the_store_process_runs_below_its_server_priority(tmp_path: Path, engine: Engine) -> None:
    """Its bursts of storing must not preempt the server on a shared core (spool_drainer.py)."""
    writer = UsageRecorder(engine, tmp_path / "spool", mode="strict", store_interval_s=60)
    writer.start()
    try:
        [store] = _store_processes()
        expected = min(os.getpriority(os.PRIO_PROCESS, 0) + STORE_NICENESS, 19)
        deadline = time.monotonic() + 10
        while _niceness(store) != expected and time.monotonic() < deadline:
            time.sleep(0.02)  # it lowers its priority first thing after it starts
        assert _niceness(store) == expected
    finally:
        writer.stop()


def test_a_store_process_killed_before_stop_is_replaced_and_nothing_is_lost(
    tmp_path: Path, engine: Engine
) -> None:
    writer = UsageRecorder(engine, tmp_path / "spool", mode="strict", store_interval_s=60)
    writer.start()
    events = traffic(random.Random(5), 100)

    async def send(batch: list[UsageEvent]) -> None:
        await asyncio.gather(*(writer.record_durably(e) for e in batch))

    asyncio.run(send(events[:50]))
    [store] = _store_processes()
    os.kill(store, signal.SIGKILL)  # before it stored anything (it stores every 60 s)
    asyncio.run(send(events[50:]))
    writer.stop()  # drains through a new store process
    assert sorted(_stored_ids(engine)) == sorted(e.request_id for e in events)
    assert list(writer.spool_dir.iterdir()) == []
    assert _store_processes() == []


def test_a_usage_database_without_its_tables_stops_the_start_with_what_to_run(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    """A usage file that `db upgrade` never made (an upgrade that skipped it) is named at
    start-up, instead of every store attempt failing while the spool grows."""
    unmigrated = create_engine(f"sqlite:///{tmp_path / 'elsewhere-usage.db'}")
    try:
        writer = UsageRecorder(unmigrated, tmp_path / "spool", directory=sqlite_engine)
        with pytest.raises(ConfigurationError, match="tollhouse db upgrade"):
            writer.start()
    finally:
        unmigrated.dispose()
