from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from tollhouse.db import SQLITE_MMAP_BYTES, SQLITE_PAGE_SIZE, create_engine
from tollhouse.migrate import downgrade, upgrade
from tollhouse.models_registry import all_metadata


def test_migrations_create_every_declared_table(engine: Engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert set(all_metadata().tables) <= tables


def test_migrations_round_trip(engine: Engine) -> None:
    downgrade(engine, "base")
    assert "posts" not in inspect(engine).get_table_names()
    upgrade(engine)
    assert "posts" in inspect(engine).get_table_names()


def test_new_sqlite_database_gets_large_pages_and_old_ones_keep_theirs(tmp_path: Path) -> None:
    fresh = create_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        upgrade(fresh)
        with fresh.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA page_size").scalar() == SQLITE_PAGE_SIZE
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA mmap_size").scalar() == SQLITE_MMAP_BYTES
    finally:
        fresh.dispose()

    # A database made before (4 KB pages, WAL) opens and migrates as it is.
    path = tmp_path / "old.db"
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA page_size=4096")
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("CREATE TABLE kept (x INTEGER)")
    raw.execute("INSERT INTO kept VALUES (1)")
    raw.commit()
    raw.close()
    old = create_engine(f"sqlite:///{path}")
    try:
        upgrade(old)
        with old.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA page_size").scalar() == 4096
            assert conn.exec_driver_sql("SELECT x FROM kept").scalar() == 1
            assert "posts" in inspect(conn).get_table_names()
    finally:
        old.dispose()
