from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from tests.metering.factories import make_event
from tollhouse.db import (
    SQLITE_MMAP_BYTES,
    SQLITE_PAGE_SIZE,
    create_engine,
    is_database_of,
    usage_database_url,
)
from tollhouse.metering.sql_store import record_events
from tollhouse.migrations.metadata import all_metadata
from tollhouse.migrations.runner import downgrade, move_usage, upgrade


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


USAGE_TABLES = {
    "usage_events",
    "usage_rollups",
    "usage_rollups_daily",
    "usage_sketches",
    "delivery_ledger",
    "usage_log",
    "usage_log_heads",
    # Receipts' tables live beside the usage log they are built from.
    "receipt_tiles",
    "receipt_checkpoints",
    "receipt_heads",
    "receipt_closes",
    "receipt_roots",
}


def test_sqlite_usage_tables_get_a_file_of_their_own_with_only_them(tmp_path: Path) -> None:
    main = create_engine(f"sqlite:///{tmp_path / 'th.db'}")
    try:
        upgrade(main)
        usage = create_engine(f"sqlite:///{tmp_path / 'th-usage.db'}")
        try:
            tables = set(inspect(usage).get_table_names())
            assert tables - {"alembic_version"} == USAGE_TABLES
            # The same history, so both files are at the same heads.
            with main.connect() as a, usage.connect() as b:
                heads = "SELECT version_num FROM alembic_version ORDER BY 1"
                assert a.exec_driver_sql(heads).all() == b.exec_driver_sql(heads).all()
            downgrade(main, "base")
            assert set(inspect(usage).get_table_names()) == {"alembic_version"}
            assert "posts" not in inspect(main).get_table_names()
        finally:
            usage.dispose()
    finally:
        main.dispose()


def test_postgresql_keeps_the_usage_tables_in_its_one_database(engine: Engine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    expected_same = engine.dialect.name == "postgresql"
    assert is_database_of(engine, usage_database_url(url)) is expected_same
    assert set(inspect(engine).get_table_names()) >= USAGE_TABLES


def test_usage_recorded_before_the_split_moves_to_the_usage_file_once(tmp_path: Path) -> None:
    """A database from before the split holds its usage itself: the upgrade that creates the
    usage file moves every row there (and leaves none behind); a second upgrade moves nothing."""
    path = tmp_path / "old.db"
    main = create_engine(f"sqlite:///{path}")
    usage_path = tmp_path / "old-usage.db"
    try:
        upgrade(main, usage_url=f"sqlite:///{path}")  # as before: usage in the same file
        rng = random.Random(5)
        events = [
            make_event(rng, org_id=1, app_id=2, post_ids=tuple(range(i % 4))) for i in range(30)
        ]
        assert record_events(main, events) == 30
        before = _usage_rows(main)
        upgrade(main)  # now with the default: a file of its own
        usage = create_engine(f"sqlite:///{usage_path}")
        try:
            assert _usage_rows(usage) == before
            assert all(not rows for rows in _usage_rows(main).values())
            upgrade(main)
            assert _usage_rows(usage) == before
            # Rows the move cannot place (the usage file is not empty now) stay where they are.
            record_events(main, [make_event(rng, org_id=1, app_id=2)])
            assert move_usage(main, usage) == 0
            assert len(_usage_rows(main)["usage_events"]) == 1
        finally:
            usage.dispose()
    finally:
        main.dispose()


def _usage_rows(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    with engine.connect() as conn:
        return {
            name: sorted(tuple(r) for r in conn.execute(sa.text(f"SELECT * FROM {name}")))
            for name in sorted(USAGE_TABLES)
        }
