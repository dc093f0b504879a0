"""Crash: a process recording usage is SIGKILLed under concurrent load; after a restart every
acknowledged request has exactly one event, with no duplicates.

Two levels: the writer alone in a child process (strict and fast), and a real `tollhouse serve`
under HTTP load from concurrent clients (strict). The writer's store process (a child of the
server) is killed too: alone while the server lives (the server starts another), with the server
(the restart replays the spool), or not at all (it drains the dead server's spool itself).
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.api.conftest import issue_token
from tests.api.sample_corpus import build
from tests.conftest import LiveServer
from tollhouse.db import create_engine, usage_database_url
from tollhouse.metering.recorder import UsageRecorder, replay_spool
from tollhouse.metering.spool import read_segment, spool_dir_for

_CHILD = r"""
import asyncio, sys, time
from tollhouse.db import create_engine, usage_database_url
from tollhouse.metering.event import UsageEvent
from tollhouse.metering.ids import uuid7
from tollhouse.metering.recorder import UsageRecorder

url, spool_dir, mode = sys.argv[1:4]
# As the app opens them: usage tables in a file of their own beside a SQLite database.
writer = UsageRecorder(create_engine(usage_database_url(url)), spool_dir, mode=mode,
                     store_interval_s=0.05, directory=create_engine(url))
writer.start()
out = sys.stdout

def event(i):
    us = time.time_ns() // 1000
    return UsageEvent(uuid7(us // 1000), us, 1, 10 + i % 3, "k", "/2/tweets/search/all", "GET",
                      200, 3, 2, 500, 100, "127.0.0.1", "crash", None, (i, i + 1, i + 2))

async def client(c):
    i = 0
    while True:
        i += 1
        e = event(c * 10_000_000 + i)
        if mode == "strict":
            await writer.record_durably(e)   # the "response" leaves only after this
        else:
            writer.record(e)
            await asyncio.sleep(0)
        out.write(e.request_id + "\n")
        out.flush()

async def main():
    await asyncio.gather(*(client(c) for c in range(16)))

asyncio.run(main())
"""


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _store_lock_held(spool_dir: Path) -> bool:
    for path in spool_dir.rglob("*.store.lock"):
        fd = os.open(path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # also drops the lock if we took it
    return False


def _store_process(spool_dir: Path, server_pid: int, not_pid: int | None = None) -> int:
    """The server's running store process (other than `not_pid`), once it holds its lock."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for pid in _children(server_pid):
            if pid == not_pid:
                continue
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"tollhouse.metering.spool_drainer" in cmdline and _store_lock_held(spool_dir):
                return pid
        time.sleep(0.01)
    raise AssertionError("the server has no store process")


def _run_and_kill(
    database_url: str, spool_dir: Path, mode: str, acked_wanted: int, store: str = "alive"
) -> list[str]:
    """Run the writer under load and SIGKILL it once `acked_wanted` events were acknowledged.
    `store`: its store process stays "alive" (and drains the spool), is "killed" with it, or is
    "killed-midway" (at half the events; the writer starts another, which stays alive)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, database_url, str(spool_dir), mode],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    acked: list[str] = []
    killed_midway = None
    for line in proc.stdout:
        acked.append(line.strip())
        if store == "killed-midway" and killed_midway is None and len(acked) >= acked_wanted // 2:
            killed_midway = _store_process(spool_dir, proc.pid)
            os.kill(killed_midway, signal.SIGKILL)
        # Kill only once a whole record reached the spool, so that there is something to keep
        # (a segment's first bytes may be a record still being written).
        if len(acked) >= acked_wanted and any(
            read_segment(p).events for p in spool_dir.rglob("*.seg")
        ):
            break
    store_pid = _store_process(spool_dir, proc.pid, not_pid=killed_midway)
    if store == "killed":
        os.kill(store_pid, signal.SIGSTOP)  # so that it cannot drain between the two kills
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if store == "killed":
        os.kill(store_pid, signal.SIGKILL)
        os.kill(store_pid, signal.SIGCONT)
    # Lines already written before the kill are acknowledged too.
    acked.extend(line.strip() for line in proc.stdout if line.endswith("\n"))
    return acked


def _event_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT request_id, COUNT(*) FROM usage_events GROUP BY request_id")
        ).all()
    return {r[0]: r[1] for r in rows}


def _assert_rollups_match_events(engine: Engine) -> None:
    with engine.connect() as conn:
        events = conn.execute(sa.text("SELECT COUNT(*), SUM(posts) FROM usage_events")).one()
        rollups = conn.execute(sa.text("SELECT SUM(requests), SUM(posts) FROM usage_rollups")).one()
    assert tuple(events) == tuple(rollups)


@pytest.mark.parametrize("store", ["alive", "killed", "killed-midway"])
def test_strict_writer_killed_loses_and_duplicates_nothing(
    database_url: str, engine: Engine, usage_engine: Engine, tmp_path: Path, store: str
) -> None:
    spool_dir = tmp_path / "spool"
    acked = _run_and_kill(database_url, spool_dir, "strict", 3000, store)
    # Restart: a new writer replays the dead one's spool before recording (after waiting for
    # a store process still draining it).
    writer = UsageRecorder(usage_engine, spool_dir, mode="strict", directory=engine)
    report = writer.start()
    writer.stop()
    counts = _event_counts(usage_engine)
    if store == "killed":
        assert report.segments >= 1  # the spool was left to the restart
    else:
        assert report.segments == 0  # the dead writer's store process stored all of it
    assert all(counts.get(rid) == 1 for rid in acked), "an acknowledged event is missing"
    assert set(counts.values()) == {1}
    _assert_rollups_match_events(usage_engine)
    # A second restart finds nothing left to replay and changes nothing.
    assert replay_spool(usage_engine, spool_dir_for(spool_dir, engine)).segments == 0
    assert _event_counts(usage_engine) == counts


def test_fast_writer_killed_loses_only_the_unflushed_tail(
    database_url: str, engine: Engine, usage_engine: Engine, tmp_path: Path
) -> None:
    spool_dir = tmp_path / "spool"
    recorded = _run_and_kill(database_url, spool_dir, "fast", 5000)
    replay_spool(usage_engine, spool_dir_for(spool_dir, engine), directory=engine)
    counts = _event_counts(usage_engine)
    assert set(counts.values()) == {1}
    stored = [rid in counts for rid in recorded]
    # What is lost is a suffix of what was recorded (the last, unflushed interval), never a hole.
    first_lost = stored.index(False) if False in stored else len(stored)
    assert all(stored[:first_lost]) and not any(stored[first_lost:])
    assert first_lost > 0
    _assert_rollups_match_events(usage_engine)


@pytest.mark.slow
def test_server_killed_under_load_keeps_every_answered_request(
    database_url: str, live_server: Callable[..., LiveServer], tmp_path: Path
) -> None:
    engine, usage, token, post_ids = _licensed_corpus(database_url, posts=20)
    spool_dir = tmp_path / "spool"
    settings = {
        "database_url": database_url,
        "spool_dir": spool_dir,
        "metering_mode": "strict",
    }
    server = live_server(**settings)

    answered: list[tuple[str, int]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(n: int) -> None:
        headers = {"Authorization": f"Bearer {token}", "X-End-User": "crash-test"}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=5) as http:
            i = 0
            while not stop.is_set():
                i += 1
                ids = ",".join(str(p) for p in post_ids[(n + i) % 10 : (n + i) % 10 + 5])
                try:
                    r = http.get("/2/tweets", params={"ids": ids})
                except httpx.TransportError:
                    return  # the server is gone
                with lock:
                    answered.append((r.headers["x-request-id"], r.status_code))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    while len(answered) < 200:
        time.sleep(0.01)
    server.kill()  # SIGKILL
    stop.set()
    for t in threads:
        t.join()

    assert any(status == 200 for _, status in answered)
    # Restart on the same spool and database: it replays the dead process's segments.
    restarted = live_server(**settings)
    restarted.stop()  # a clean shutdown drains and stores everything
    counts = _event_counts(usage)
    assert set(counts.values()) == {1}
    missing = [rid for rid, status in answered if 200 <= status < 300 and rid not in counts]
    assert missing == []
    with usage.connect() as conn:
        row = conn.execute(
            sa.text("SELECT org_id, app_id, endpoint, end_user FROM usage_events LIMIT 1")
        ).one()
    assert row.endpoint == "/2/tweets" and row.org_id is not None and row.end_user == "crash-test"
    _assert_rollups_match_events(usage)
    assert not list(spool_dir.rglob("*.seg"))
    engine.dispose()
    usage.dispose()


def _licensed_corpus(database_url: str, posts: int) -> tuple[Engine, Engine, str, list[int]]:
    """A small corpus and a licensee's token on `database_url`: its engine, the engine of the
    usage tables the app stores into, the token, and the ids of the first `posts` posts."""
    engine = create_engine(database_url)
    usage = create_engine(usage_database_url(database_url))
    corpus = build(engine, n_posts=60, n_users=6)
    return engine, usage, issue_token(engine), sorted(corpus.posts)[:posts]


def _descendants(pid: int) -> list[int]:
    found = []
    for child in _children(pid):
        found += [child, *_descendants(child)]
    return found


@pytest.mark.slow
def test_workers_each_have_a_store_process_and_drain_on_stop(
    database_url: str, live_server: Callable[..., LiveServer], tmp_path: Path
) -> None:
    engine, usage, token, post_ids = _licensed_corpus(database_url, posts=10)
    spool_dir = tmp_path / "spool"
    server = live_server(
        workers=2, database_url=database_url, spool_dir=spool_dir, metering_mode="strict"
    )
    assert server.proc is not None
    answered: list[tuple[str, int]] = []

    def client() -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=10) as http:
            for i in range(100):
                r = http.get("/2/tweets", params={"ids": str(post_ids[i % 10])})
                answered.append((r.headers["x-request-id"], r.status_code))

    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stores = [
        pid
        for pid in _descendants(server.proc.pid)
        if b"tollhouse.metering.spool_drainer" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]
    assert len(stores) == 2  # one per serving process, each with its own spool
    server.stop()  # SIGTERM: each worker drains its spool through its store process
    counts = _event_counts(usage)
    assert set(counts.values()) == {1}
    assert [rid for rid, s in answered if s == 200 and rid not in counts] == []
    assert sum(1 for _, s in answered if s == 200) > 0
    _assert_rollups_match_events(usage)
    assert [p for p in spool_dir.rglob("*") if p.is_file()] == []  # segments, locks
    engine.dispose()
    usage.dispose()


def test_usage_replay_stores_what_a_killed_writer_and_store_process_left(
    database_url: str, usage_engine: Engine, tmp_path: Path
) -> None:
    spool_dir = tmp_path / "spool"
    acked = _run_and_kill(database_url, spool_dir, "strict", 1000, store="killed")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLHOUSE_")}
    env["TOLLHOUSE_DATABASE_URL"] = database_url
    command = [sys.executable, "-m", "tollhouse.cli.main", "usage", "replay"]
    out = subprocess.run(
        [*command, "--spool-dir", str(spool_dir)], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    counts = _event_counts(usage_engine)
    assert all(counts.get(rid) == 1 for rid in acked), "an acknowledged event is missing"
    assert set(counts.values()) == {1}
    _assert_rollups_match_events(usage_engine)
    assert [p for p in spool_dir.rglob("*") if p.is_file()] == []
