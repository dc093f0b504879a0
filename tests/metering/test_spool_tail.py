"""The store process's view of a live spool: records as they are completed, segments once read
to their end, a torn tail ignored only once the writer is gone; dead owners' store locks."""

from __future__ import annotations

import fcntl
import os
import random
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.metering.factories import traffic
from tollhouse.metering import spool as spool_module
from tollhouse.metering.event import UsageEvent
from tollhouse.metering.spool import Spool, SpoolTail, encode, orphans, store_lock_path


def _segment(directory: Path, owner: str, seq: int) -> Path:
    return directory / f"{owner}-{seq:08d}.seg"


def test_a_tail_waits_for_a_record_being_written(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    tail = SpoolTail(tmp_path, spool.owner)
    events = traffic(random.Random(1), 30)
    spool.append(events[:10])
    assert tail.read(final=False) == (events[:10], [])
    record = encode(events[10:20])
    os.write(spool._fd, record[:7])  # the writer is in the middle of its write
    assert tail.read(final=False) == ([], [])
    os.write(spool._fd, record[7:])
    assert tail.read(final=False) == (events[10:20], [])
    spool._rotate()
    spool.append(events[20:])
    # The first segment is finished only now that its successor exists.
    assert tail.read(final=False) == (events[20:], [_segment(tmp_path, spool.owner, 1)])
    # The writer dies mid-record: the torn tail is never returned, the last segment is finished.
    os.write(spool._fd, encode(events[:3])[:-2])
    assert tail.read(final=False) == ([], [])
    assert tail.read(final=True) == ([], [_segment(tmp_path, spool.owner, 2)])
    spool.close(all_stored=False)


def test_a_restarted_tail_starts_from_the_oldest_segment_left(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    events = traffic(random.Random(2), 20)
    spool.append(events[:10])
    spool._rotate()
    spool.append(events[10:])
    _segment(tmp_path, spool.owner, 1).unlink()  # stored and deleted by the previous process
    tail = SpoolTail(tmp_path, spool.owner)
    assert tail.read(final=False) == (events[10:], [])
    spool.close(all_stored=False)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 4), st.booleans(), st.floats(0, 1), st.booleans()),
        min_size=1,
        max_size=10,
    ),
    st.floats(0, 1),
)
def test_a_tail_returns_every_completed_record_once_in_order(
    plan: list[tuple[int, bool, float, bool]], torn: float
) -> None:
    """Whatever the interleaving of partial writes, rotations and reads."""
    rng = random.Random(len(plan))
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        spool = Spool(directory)
        tail = SpoolTail(directory, spool.owner)
        written: list[UsageEvent] = []
        read: list[UsageEvent] = []
        finished: list[Path] = []
        for n, rotate, cut, read_midway in plan:
            if rotate:
                spool._rotate()
            batch = traffic(rng, n)
            record = encode(batch)
            split = int(cut * len(record))
            os.write(spool._fd, record[:split])
            if read_midway:
                got, done = tail.read(final=False)
                read += got
                finished += done
            os.write(spool._fd, record[split:])
            written += batch
            got, done = tail.read(final=False)
            read += got
            finished += done
        assert read == written
        leftover = encode(traffic(rng, 2))
        os.write(spool._fd, leftover[: int(torn * (len(leftover) - 1))])  # torn by a crash
        got, done = tail.read(final=True)
        assert got == []
        finished += done
        segments = sorted(directory.glob("*.seg"))
        assert finished == segments  # each segment once, in order
        spool.close(all_stored=False)


def test_a_dead_owner_is_replayed_only_once_its_store_process_is_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spool_module, "DRAIN_WAIT_S", 0.0)  # do not wait: skip at once
    dead = Spool(tmp_path)
    dead.append(traffic(random.Random(3), 3))
    dead.close_segment()
    store_fd = os.open(store_lock_path(tmp_path, dead.owner), os.O_RDWR | os.O_CREAT)
    fcntl.flock(store_fd, fcntl.LOCK_EX)  # its store process, still draining
    dead.release_lock(delete=False)  # the server is dead
    assert list(orphans(tmp_path)) == []
    os.close(store_fd)  # the store process exits
    found = list(orphans(tmp_path))
    assert [o.owner for o in found] == [dead.owner]
    assert found[0].segments == [_segment(tmp_path, dead.owner, 1)]
    found[0].release(delete=True)
    assert list(tmp_path.iterdir()) == []


def test_a_live_owner_is_skipped_whatever_its_store_lock(tmp_path: Path) -> None:
    live = Spool(tmp_path)
    live.append(traffic(random.Random(4), 3))
    assert list(orphans(tmp_path)) == []  # no store lock at all: the server's lock is enough
    live.close(all_stored=True)
