"""Shared fixtures: databases (SQLite always, PostgreSQL when its URL is set), Redis, and a real
server process.

CI sets TOLLHOUSE_TEST_DATABASE_URL and TOLLHOUSE_TEST_REDIS_URL and CI=true; there a missing
service fails the run instead of skipping. Each test gets its own PostgreSQL schema and its own
Redis key prefix so that test runs (and parallel developers) never see each other's data.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from tests.backends import SQL_BACKENDS, migrated_database
from tests.processes import clean_env
from tollhouse.db import create_engine, engine_beside, usage_database_url
from tollhouse.migrations.runner import upgrade

PG_URL = os.environ.get("TOLLHOUSE_TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("TOLLHOUSE_TEST_REDIS_URL", "")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(autouse=True, scope="session")
def _spool_outside_the_checkout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    # Apps built with default settings spool usage under ./spool: keep that out of the work tree.
    # (A test that sets spool_dir, or its own TOLLHOUSE_SPOOL_DIR, still wins.)
    previous = os.environ.get("TOLLHOUSE_SPOOL_DIR")
    os.environ.setdefault("TOLLHOUSE_SPOOL_DIR", str(tmp_path_factory.mktemp("spool")))
    yield
    if previous is None:
        os.environ.pop("TOLLHOUSE_SPOOL_DIR", None)


def _require(url: str, name: str) -> None:
    if url:
        return
    if IN_CI:
        pytest.fail(f"{name} must be set in CI")
    pytest.skip(f"{name} not set")


def scratch_database(backend: str, directory: Path) -> Iterator[str]:
    """A migrated, empty database URL of `backend` (skipped, or failed in CI, when PostgreSQL
    is not configured)."""
    if backend == "postgresql":
        _require(PG_URL, "TOLLHOUSE_TEST_DATABASE_URL")
    with migrated_database(backend, directory, PG_URL) as url:
        yield url


@pytest.fixture(params=SQL_BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database URL: SQLite in a temp dir, or a fresh PostgreSQL schema."""
    yield from scratch_database(request.param, tmp_path)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on a migrated, empty database (both backends)."""
    eng = create_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def usage_engine(engine: Engine) -> Iterator[Engine]:
    """The usage tables' database of `engine`, as an app on it stores into: a file of its own
    beside a SQLite database, the same database on PostgreSQL (db.usage_database_url)."""
    usage = engine_beside(engine, usage_database_url(engine.url.render_as_string(False)))
    yield usage
    if usage is not engine:
        usage.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """An engine on a migrated, empty SQLite database only (for tests that need no PostgreSQL)."""
    eng = create_engine(f"sqlite:///{tmp_path / 'tollhouse.db'}")
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def redis_url() -> str:
    """A Redis URL; tests must prefix their keys with the `redis_prefix` fixture."""
    _require(REDIS_URL, "TOLLHOUSE_TEST_REDIS_URL")
    return REDIS_URL


@pytest.fixture
def redis_prefix() -> str:
    return f"test:{uuid.uuid4().hex[:10]}:"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class LiveServer:
    """A real `tollhouse serve` process on a free port."""

    def __init__(self, env: dict[str, str], workers: int = 1) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = env
        self.workers = workers
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> LiveServer:
        cmd = [sys.executable, "-m", "tollhouse.cli.main", "serve", "--port", str(self.port)]
        if self.workers > 1:
            cmd += ["--workers", str(self.workers)]
        self.proc = subprocess.Popen(cmd, env=self.env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}")
            try:
                if httpx.get(self.base_url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not become ready")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def live_server() -> Iterator[Callable[..., LiveServer]]:
    """Factory: `live_server(database_url=…, **settings)` starts a real server; stopped after."""
    servers: list[LiveServer] = []

    def start(workers: int = 1, **settings: Any) -> LiveServer:
        server = LiveServer(clean_env(**settings), workers).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
