"""The Redis change listener backs off while Redis is down instead of retrying every second."""

from __future__ import annotations

import socket
import threading
import weakref
from pathlib import Path

import pytest

from tollhouse.access.revocation import LISTENER_BACKOFF, ChangeWatcher, _listen
from tollhouse.db import create_engine
from tollhouse.migrations.runner import upgrade


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_reconnects_back_off_exponentially_to_a_cap(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'tollhouse.db'}")
    upgrade(engine)
    url = f"redis://127.0.0.1:{_closed_port()}/0"  # refuses every connection
    watcher = ChangeWatcher(engine, lambda: None, redis_url=url)
    stop = threading.Event()
    waited: list[float] = []

    def wait(seconds: float) -> None:  # the listener's sleep, without sleeping
        waited.append(seconds)
        if len(waited) == 8:
            stop.set()

    _listen(weakref.ref(watcher), stop, wait)
    assert waited == [1, 2, 4, 8, 16, 30, 30, 30]
    assert [LISTENER_BACKOFF.delay(n) for n in range(1, 9)] == waited
    logged = [r.getMessage() for r in caplog.records if "change listener" in r.getMessage()]
    assert logged[:3] == [
        "Redis change listener disconnected; retrying in 1 s",
        "Redis change listener disconnected; retrying in 2 s",
        "Redis change listener disconnected; retrying in 4 s",
    ]
    engine.dispose()
