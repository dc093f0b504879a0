"""The spool: framing, torn tails, dead owners' segments, replay exactly once."""

from __future__ import annotations

import errno
import os
import random
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.metering.factories import traffic
from tollhouse.metering import spool as spool_module
from tollhouse.metering.event import UsageEvent
from tollhouse.metering.recorder import replay_spool
from tollhouse.metering.spool import Spool, encode, orphans, read_segment


def _dead_spool(directory: Path, batches: list[list[UsageEvent]]) -> Path:
    """Segments as a killed process leaves them: written, lock file present but unlocked."""
    spool = Spool(directory)
    for batch in batches:
        spool.append(batch)
    segment = directory / f"{spool.owner}-00000001.seg"
    os.close(spool._fd)
    os.close(spool._lock_fd)  # the kernel drops a dead process's flock just like this
    return segment


def test_records_round_trip_and_a_torn_tail_is_ignored(tmp_path: Path) -> None:
    events = traffic(random.Random(3), 30)
    segment = _dead_spool(tmp_path, [events[:10], events[10:30]])
    with segment.open("ab") as f:
        f.write(encode(events[:5])[:-3])  # a group commit cut short by the crash
    contents = read_segment(segment)
    assert contents.events == events
    assert contents.records == 2
    assert contents.torn_tail


@pytest.mark.parametrize("one_syscall", [True, False], ids=["pwritev2-dsync", "write-fdatasync"])
def test_synced_and_unsynced_appends_write_the_same_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, one_syscall: bool
) -> None:
    """Strict appends go through pwritev2(RWF_DSYNC) where Linux has it, fast ones through
    write(2); both append to the same segment, in order, with the sizes rotation relies on."""
    if not one_syscall:
        monkeypatch.setattr(spool_module, "_RWF_DSYNC", 0)
    elif not spool_module._RWF_DSYNC:
        pytest.skip("no pwritev2 with RWF_DSYNC here")
    events = traffic(random.Random(5), 40)
    spool = Spool(tmp_path)
    for k, sync in zip(range(0, 40, 10), (True, False, True, True), strict=True):
        spool.append(events[k : k + 10], sync=sync)
    segment = tmp_path / f"{spool.owner}-00000001.seg"
    assert (
        spool._size
        == segment.stat().st_size
        == sum(len(encode(events[k : k + 10])) for k in range(0, 40, 10))
    )
    contents = read_segment(segment)
    assert contents.events == events
    assert contents.records == 4
    assert not contents.torn_tail
    spool.close_segment()


def test_a_refused_dsync_flag_falls_back_to_write_and_fdatasync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kernel or filesystem without RWF_DSYNC must not make the spool (and so every strict
    response) fail: the append takes write + fdatasync, then and from then on."""
    monkeypatch.setattr(spool_module, "_RWF_DSYNC", 4)
    calls: list[str] = []

    def refused(*_: object) -> int:
        calls.append("pwritev")
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")

    real_fdatasync = os.fdatasync

    def counted(fd: int) -> None:
        calls.append("fdatasync")
        real_fdatasync(fd)

    monkeypatch.setattr(os, "pwritev", refused)
    monkeypatch.setattr(os, "fdatasync", counted)
    events = traffic(random.Random(6), 20)
    spool = Spool(tmp_path)
    spool.append(events[:10])
    spool.append(events[10:])
    assert calls == ["pwritev", "fdatasync", "fdatasync"]
    assert read_segment(tmp_path / f"{spool.owner}-00000001.seg").events == events
    spool.close_segment()


def test_a_corrupt_record_ends_the_segment(tmp_path: Path) -> None:
    events = traffic(random.Random(4), 10)
    segment = _dead_spool(tmp_path, [events[:5], events[5:]])
    data = bytearray(segment.read_bytes())
    data[-2] ^= 0xFF
    segment.write_bytes(bytes(data))
    contents = read_segment(segment)
    assert contents.events == events[:5]
    assert contents.torn_tail


def test_a_live_owner_is_not_replayed(tmp_path: Path) -> None:
    live = Spool(tmp_path)
    live.append(traffic(random.Random(5), 3))
    _dead_spool(tmp_path, [traffic(random.Random(6), 2)])
    found = list(orphans(tmp_path))
    try:
        assert [o.owner for o in found] != [] and live.owner not in [o.owner for o in found]
        assert len(found) == 1
    finally:
        for o in found:
            o.release(delete=False)
        live.close(all_stored=True)


def test_replaying_a_spool_twice_gives_the_same_totals(tmp_path: Path, engine: Engine) -> None:
    events = traffic(random.Random(9), 300)
    spool_dir = tmp_path / "spool"
    segment = _dead_spool(spool_dir, [events[:100], events[100:]])
    copy = segment.read_bytes()
    lock = spool_dir / (segment.name.rsplit("-", 1)[0] + ".lock")

    first = replay_spool(engine, spool_dir)
    assert (first.events_read, first.events_inserted) == (300, 300)
    assert not segment.exists() and not lock.exists()
    totals = "SELECT SUM(requests), SUM(posts), SUM(bytes) FROM usage_rollups"
    with engine.connect() as conn:
        after_first = tuple(conn.execute(sa.text(totals)).one())

    segment.write_bytes(copy)  # the same spool again, as if deleting it had not happened
    lock.touch()
    second = replay_spool(engine, spool_dir)
    assert (second.events_read, second.events_inserted) == (300, 0)
    with engine.connect() as conn:
        assert tuple(conn.execute(sa.text(totals)).one()) == after_first
        assert conn.execute(sa.text("SELECT COUNT(*) FROM usage_events")).scalar_one() == 300
    assert after_first[0] == 300


def test_each_database_has_its_own_spool(tmp_path: Path) -> None:
    """Events are replayed only into the database they were meant for."""
    from tollhouse.db import create_engine
    from tollhouse.metering.spool import spool_dir_for

    a = create_engine(f"sqlite:///{tmp_path / 'a.db'}")
    b = create_engine(f"sqlite:///{tmp_path / 'b.db'}")
    a_again = create_engine(f"sqlite:///{tmp_path / 'x' / '..' / 'a.db'}")
    base = tmp_path / "spool"
    assert spool_dir_for(base, a) != spool_dir_for(base, b)
    assert spool_dir_for(base, a) == spool_dir_for(base, a_again)
    assert spool_dir_for(base, a).parent == base
