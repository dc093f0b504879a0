"""Schema migrations: `tollhouse db upgrade` and the test fixtures both come through here."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from tollhouse.db import create_engine, is_database_of, usage_database_url

log = logging.getLogger("tollhouse.migrations")

METERING_DOMAINS = frozenset({"metering"})


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "tollhouse:migrations")
    # configparser treats % as interpolation; URLs may carry %-escapes (e.g. search_path options).
    url = engine.url.render_as_string(hide_password=False).replace("%", "%%")
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def _run(engine: Engine, revision: str, domains: frozenset[str] | None, up: bool) -> None:
    cfg = alembic_config(engine)
    cfg.attributes["domains"] = domains
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        if up:
            command.upgrade(cfg, revision)
        else:
            command.downgrade(cfg, revision)


def upgrade(engine: Engine, revision: str = "heads", usage_url: str | None = None) -> None:
    """Bring the database to the newest schema (every domain's head), and the usage database
    too when it is another one: `usage_url`, default the one `db.usage_database_url` derives
    from `engine` (a sibling file for SQLite). Usage recorded in the main database before the
    usage tables had a database of their own is moved there."""
    _run(engine, revision, None, up=True)
    url = _usage_url(engine, usage_url)
    if is_database_of(engine, url):
        return
    usage = create_engine(url)
    try:
        _run(usage, revision, METERING_DOMAINS, up=True)
        move_usage(engine, usage)
    finally:
        usage.dispose()


def downgrade(engine: Engine, revision: str = "base", usage_url: str | None = None) -> None:
    url = _usage_url(engine, usage_url)
    if not is_database_of(engine, url):
        usage = create_engine(url)
        try:
            _run(usage, revision, METERING_DOMAINS, up=False)
        finally:
            usage.dispose()
    _run(engine, revision, None, up=False)


def _usage_url(engine: Engine, usage_url: str | None) -> str:
    return usage_url or usage_database_url(engine.url.render_as_string(hide_password=False))


def _usage_tables() -> list[sa.Table]:
    from tollhouse.metering.models import (
        delivery_ledger,
        usage_events,
        usage_log,
        usage_log_heads,
        usage_rollups,
        usage_rollups_daily,
        usage_sketches,
    )

    return [
        usage_events,
        usage_rollups,
        usage_rollups_daily,
        usage_sketches,
        delivery_ledger,
        usage_log,
        usage_log_heads,
    ]


MOVE_BATCH = 10_000


def move_usage(main: Engine, usage: Engine) -> int:
    """Move usage rows from the main database into an empty usage database; the rows moved.

    Copied in one transaction on the usage side, then deleted in one on the main side: a crash
    between leaves them in both, and the next upgrade, finding the usage database not empty,
    leaves the main copy alone and says so rather than count anything twice."""
    tables = _usage_tables()
    with main.connect() as conn:
        waiting = {
            t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in tables
        }
    if not any(waiting.values()):
        return 0
    with usage.connect() as conn:
        present = sum(
            conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one() for t in tables
        )
    if present:
        log.warning(
            "usage rows %s are still in the main database, and the usage database %s is not"
            " empty: not moved (move them by hand, or they are the copy of a move cut short)",
            waiting,
            usage.url.render_as_string(hide_password=True),
        )
        return 0
    moved = 0
    with main.connect() as source, usage.begin() as target:
        for table in tables:
            result = source.execution_options(yield_per=MOVE_BATCH).execute(sa.select(table))
            for rows in result.partitions():
                target.execute(table.insert(), [dict(r._mapping) for r in rows])
                moved += len(rows)
    with main.begin() as conn:
        for table in tables:
            conn.execute(table.delete())
    log.warning(
        "moved %d usage rows into %s", moved, usage.url.render_as_string(hide_password=True)
    )
    return moved
