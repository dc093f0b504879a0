"""Database and spool files hold key hashes and usage: they are created owner-only."""

from __future__ import annotations

import os
import random
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.metering.factories import make_event
from tollhouse.db import create_engine
from tollhouse.metering.spool import Spool, lock_store, spool_dir_for
from tollhouse.migrations.runner import upgrade


@pytest.fixture(autouse=True)
def _permissive_umask() -> Iterator[None]:
    # The usual umask (022) is what made the files world-readable; the modes must not rely on
    # the operator having set a stricter one.
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_sqlite_databases_and_their_wal_and_shm_files_are_owner_only(tmp_path: Path) -> None:
    database = tmp_path / "new" / "dir" / "tollhouse.db"
    engine = create_engine(f"sqlite:///{database}")
    upgrade(engine)  # also creates the usage database beside it
    with engine.begin() as conn:  # hold a connection so that -wal and -shm exist
        conn.execute(text("SELECT 1"))
        files = sorted(p.name for p in database.parent.iterdir())
        assert {"tollhouse.db", "tollhouse.db-wal", "tollhouse.db-shm"} <= set(files)
        assert "tollhouse-usage.db" in files
        assert {name: mode(database.parent / name) for name in files} == dict.fromkeys(files, 0o600)
    engine.dispose()
    assert mode(database.parent) == 0o700 and mode(database.parent.parent) == 0o700


def test_an_existing_database_file_keeps_its_mode(tmp_path: Path) -> None:
    database = tmp_path / "shared.db"
    database.touch(mode=0o640)
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    engine.dispose()
    assert mode(database) == 0o640


def test_spool_directories_and_files_are_owner_only(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    directory = spool_dir_for(tmp_path / "spool", engine)
    engine.dispose()
    spool = Spool(directory)
    spool.append([make_event(random.Random(1))])
    store_lock = lock_store(directory, spool.owner, 0)
    assert store_lock is not None
    try:
        files = list(directory.iterdir())
        assert {p.suffix for p in files} == {".seg", ".lock"}
        assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
        assert mode(directory) == 0o700 and mode(directory.parent) == 0o700
    finally:
        os.close(store_lock)
        spool.close(all_stored=False)
