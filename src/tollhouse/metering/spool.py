"""The local durable spool: append-only segment files, fsynced once per group commit.

A record is `<u32 length><u32 crc32>` + an orjson list of events (one record per group commit).
A torn tail after `kill -9` fails its length or checksum and is ignored — it was never
acknowledged, because acknowledgement comes only after the fsync.

Several server processes may share one spool directory: each writes its own segments, named
`<owner>-<seq>.seg` with owner = `<pid>-<start ns>`, and holds an exclusive `flock` on
`<owner>.lock` for its lifetime. A process that can take another owner's lock knows that owner is
dead (the kernel drops locks with the process, even on SIGKILL) and may replay its segments.

The owner's store process (spool_drainer.py) follows the segments with `SpoolTail` while the
server appends, and holds a second lock, `<owner>.store.lock`. When the server is gone (its lock
is free) the store process drains what is left and exits; a replayer that took the server's
lock waits for the store lock, so that a restart or `tollhouse usage replay` comes back with
those events stored, not skipped, and never stores alongside a live store process.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import struct
import threading
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson
from sqlalchemy.engine import Engine

from tollhouse.db import PRIVATE_FILE_MODE, create_private_dir
from tollhouse.metering.event import UsageEvent

log = logging.getLogger("tollhouse.metering")

_HEADER = struct.Struct("<II")
# A record longer than this is taken as garbage (a torn length field), not allocated.
_MAX_RECORD = 256 * 1024 * 1024


def encode(events: Sequence[UsageEvent]) -> bytes:
    """One framed record holding `events`."""
    payload = orjson.dumps([e.to_wire() for e in events])
    return _HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def spool_dir_for(base: Path, engine: Engine) -> Path:
    """The spool directory of one database under `base`.

    Segments must be replayed into the database their events were meant for; a spool dir
    shared by servers of different databases (development, tests) would otherwise move usage
    from one into another. The key is the URL (password hidden) or, for SQLite, the file's
    absolute path."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        identity = "sqlite:" + str(Path(url.database).resolve())
    else:
        identity = url.render_as_string(hide_password=True)
    return Path(base) / ("db-" + hashlib.sha256(identity.encode()).hexdigest()[:16])


@dataclass(frozen=True, slots=True)
class SegmentContents:
    events: list[UsageEvent]
    records: int
    torn_tail: bool  # bytes after the last good record (a crash mid-write) were ignored


def read_segment(path: Path) -> SegmentContents:
    """Every intact record of a segment, stopping at the first torn or corrupt one."""
    data = path.read_bytes()
    events, records, offset = _decode_records(data)
    return SegmentContents(events, records, torn_tail=offset < len(data))


def _decode_records(data: bytes) -> tuple[list[UsageEvent], int, int]:
    """The events of the intact records at the start of `data`, their count, and where the
    first torn, corrupt or incomplete record (or the end) begins."""
    events: list[UsageEvent] = []
    offset = records = 0
    while offset < len(data):
        if offset + _HEADER.size > len(data):
            break
        length, crc = _HEADER.unpack_from(data, offset)
        start = offset + _HEADER.size
        end = start + length
        if length > _MAX_RECORD or end > len(data):
            break
        payload = data[start:end]
        if zlib.crc32(payload) != crc:
            break
        try:
            events.extend(UsageEvent.from_wire(row) for row in orjson.loads(payload))
        except (orjson.JSONDecodeError, TypeError, ValueError):
            break
        records += 1
        offset = end
    return events, records, offset


# pwritev2's per-write data sync where the platform has it (Linux); elsewhere write + fdatasync.
_RWF_DSYNC: int = getattr(os, "RWF_DSYNC", 0) if hasattr(os, "pwritev") else 0
# What a kernel without pwritev2 (< 4.6) or a filesystem without the flag answers.
_DSYNC_REFUSED = {errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL}


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Spool:
    """This process's spool: appends records, rotates segments, deletes stored ones."""

    def __init__(
        self, directory: Path, max_segment_bytes: int = 16 << 20, max_segment_age_s: float = 30.0
    ) -> None:
        self.directory = Path(directory)
        create_private_dir(self.directory)
        self.owner = f"{os.getpid()}-{time.time_ns()}"
        self.max_segment_bytes = max_segment_bytes
        self.max_segment_age_s = max_segment_age_s
        self._lock_path = self.directory / f"{self.owner}.lock"
        self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._segments_lock = threading.Lock()
        self._closed_segments: list[tuple[int, Path]] = []
        self._seq = 0
        self._fd = -1
        self._size = 0
        self._opened_at = 0.0
        # Cleared if this kernel or filesystem refuses the flag (EOPNOTSUPP and kin).
        self._rwf_dsync = _RWF_DSYNC
        self._open_segment()

    def _segment_path(self, seq: int) -> Path:
        return self.directory / f"{self.owner}-{seq:08d}.seg"

    def _open_segment(self) -> None:
        self._seq += 1
        self._fd = os.open(
            self._segment_path(self._seq), os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE_MODE
        )
        self._size = 0
        self._opened_at = time.monotonic()
        _fsync_dir(self.directory)  # the new name must survive a crash, not only its bytes

    def _rotate(self) -> None:
        os.close(self._fd)
        with self._segments_lock:
            self._closed_segments.append((self._seq, self._segment_path(self._seq)))
        self._open_segment()

    def append(self, events: Sequence[UsageEvent], sync: bool = True) -> int:
        """Write one record and (if `sync`) fdatasync it; return the segment number it is in."""
        if self._size >= self.max_segment_bytes or (
            self._size and time.monotonic() - self._opened_at >= self.max_segment_age_s
        ):
            self._rotate()
        record = encode(events)
        view = memoryview(record)
        if sync and self._rwf_dsync:
            # One syscall for write and fdatasync (pwritev2 with RWF_DSYNC, Linux ≥ 4.7): the
            # spool thread gives up and retakes the GIL once per group instead of twice, and
            # under load each retake waits for the busy event loop and lookup threads (up to a
            # switch interval), which the strict acknowledgement would add to every response.
            # Offset -1: at the end of the file (O_APPEND), as write(2) would.
            try:
                view = view[os.pwritev(self._fd, [view], -1, self._rwf_dsync) :]
            except OSError as exc:
                if exc.errno not in _DSYNC_REFUSED:
                    raise
                self._rwf_dsync = 0  # nothing was written: the general path below from now on
            if not view:
                self._size += len(record)
                return self._seq
        while view:  # the general path, and the rest of a short write
            written = os.write(self._fd, view)
            view = view[written:]
        if sync:
            os.fdatasync(self._fd)
        self._size += len(record)
        return self._seq

    def stored_through(self, seq: int) -> None:
        """Every record in segments before `seq` is in the store: delete those segments."""
        with self._segments_lock:
            done = [(s, p) for s, p in self._closed_segments if s < seq]
            self._closed_segments = [(s, p) for s, p in self._closed_segments if s >= seq]
        for _, path in done:
            path.unlink(missing_ok=True)

    def close_segment(self) -> None:
        """Stop appending (the files and the lock stay: the store process drains them)."""
        with contextlib.suppress(OSError):  # already broken (the reason we may be closing)
            os.close(self._fd)
        self._fd = -1

    def release_lock(self, delete: bool) -> None:
        """Give up the owner's lock; `delete` its file when nothing of ours is left."""
        if delete:
            self._lock_path.unlink(missing_ok=True)
        os.close(self._lock_fd)

    def close(self, all_stored: bool) -> None:
        """Close the spool; if every record is in the store, remove its files and lock."""
        with contextlib.suppress(OSError):  # already broken (the reason we may be closing)
            os.close(self._fd)
        if all_stored:
            with self._segments_lock:
                closed = list(self._closed_segments)
                self._closed_segments.clear()
            for _, path in closed:
                path.unlink(missing_ok=True)
            self._segment_path(self._seq).unlink(missing_ok=True)
            self._lock_path.unlink(missing_ok=True)
        os.close(self._lock_fd)


@dataclass
class Orphan:
    """The segments of a dead owner, whose lock this process now holds."""

    owner: str
    segments: list[Path]
    lock_path: Path
    lock_fd: int
    store_lock_fd: int

    def release(self, delete: bool) -> None:
        if delete:
            for path in self.segments:
                path.unlink(missing_ok=True)
            store_lock_path(self.lock_path.parent, self.owner).unlink(missing_ok=True)
            self.lock_path.unlink(missing_ok=True)
        os.close(self.lock_fd)
        os.close(self.store_lock_fd)


def store_lock_path(directory: Path, owner: str) -> Path:
    """Locked by `owner`'s store process for its lifetime."""
    return Path(directory) / f"{owner}.store.lock"


DRAIN_WAIT_S = 120.0
_DRAIN_POLL_S = 0.02


def lock_store(directory: Path, owner: str, wait_s: float) -> int | None:
    """Open and lock `owner`'s store lock, waiting up to `wait_s`; its fd, or None."""
    fd = os.open(store_lock_path(directory, owner), os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                return None
        time.sleep(_DRAIN_POLL_S)


def orphans(directory: Path, exclude_owner: str | None = None) -> Iterator[Orphan]:
    """Segments left by processes that are no longer running (and not being replayed by
    another process right now), oldest segment first."""
    directory = Path(directory)
    if not directory.is_dir():
        return
    by_owner: dict[str, list[Path]] = {}
    for path in directory.glob("*.seg"):
        owner = path.stem.rsplit("-", 1)[0]
        by_owner.setdefault(owner, []).append(path)
    for lock in directory.glob("*.lock"):
        by_owner.setdefault(lock.name.split(".", 1)[0], [])
    for owner in sorted(by_owner):
        if owner == exclude_owner:
            continue
        lock_path = directory / f"{owner}.lock"
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)  # its owner is alive, or another process is replaying it
            continue
        # The owner is dead; its store process may still be draining its spool: wait for it.
        store_fd = lock_store(directory, owner, DRAIN_WAIT_S)
        if store_fd is None:
            log.warning("spool owner %s: its store process is still draining; skipped", owner)
            os.close(fd)
            continue
        # Re-list under the lock: a concurrent replayer may have finished and deleted them.
        current = sorted(p for p in directory.glob(f"{owner}-*.seg") if p.exists())
        yield Orphan(owner, current, lock_path, fd, store_fd)


class SpoolTail:
    """Follows one live owner's segments as they are written: the store process's reader.

    The server writes each record with one `write` before its fsync; a reader may see a record
    only partly, which it takes as "not yet" (while the server lives) and as a torn tail (once
    it is gone — never acknowledged). The server opens segment n+1 only after its last write to
    segment n, so a segment whose successor exists, read to its end after that was seen, is
    complete."""

    def __init__(self, directory: Path, owner: str) -> None:
        self.directory = Path(directory)
        self.owner = owner
        existing = sorted(self._seq_of(p) for p in self.directory.glob(f"{owner}-*.seg"))
        # A restarted store process starts again from the oldest segment left (not yet stored);
        # storing what was stored before is a no-op (idempotent by request id).
        self._seq = existing[0] if existing else 1
        self._offset = 0

    def _seq_of(self, path: Path) -> int:
        return int(path.stem.rsplit("-", 1)[1])

    def _path(self, seq: int) -> Path:
        return self.directory / f"{self.owner}-{seq:08d}.seg"

    def read(self, final: bool) -> tuple[list[UsageEvent], list[Path]]:
        """The events of the records completed since the last call, and the segments now read
        to their end. `final`: the writer is gone, so everything there is is complete."""
        events: list[UsageEvent] = []
        finished: list[Path] = []
        while True:
            path = self._path(self._seq)
            # Looked at before reading `path`: see the class docstring.
            has_successor = self._path(self._seq + 1).exists()
            try:
                with path.open("rb") as f:
                    f.seek(self._offset)
                    data = f.read()
            except FileNotFoundError:
                data = b""
            got, _, used = _decode_records(data)
            events.extend(got)
            self._offset += used
            if not (has_successor or final):
                return events, finished
            finished.append(path)
            if not has_successor:  # final: what is left of the last segment is a torn tail
                return events, finished
            if used < len(data):
                log.error(
                    "spool segment %s: %d bytes after the last intact record ignored",
                    path,
                    len(data) - used,
                )
            self._seq += 1
            self._offset = 0
