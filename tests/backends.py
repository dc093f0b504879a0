"""The backend matrix, declared once (as limits' `ALL_STORAGES`), and migrated scratch databases.

SQL backends: SQLite always, PostgreSQL when TOLLHOUSE_TEST_DATABASE_URL is set. Key-value
backends (limits, the stream bus): memory always, Redis when TOLLHOUSE_TEST_REDIS_URL is set.
The `postgres` and `redis` marks select or deselect the server variants (`-m "not redis"`).
The benchmarks make their databases here too (bench/metering.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import text

from tollhouse.db import create_engine
from tollhouse.migrations.runner import upgrade

SQL_BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]
KEY_VALUE_BACKENDS = [
    pytest.param("memory", id="memory"),
    pytest.param("redis", id="redis", marks=pytest.mark.redis),
]


@contextmanager
def migrated_database(
    backend: str,
    directory: Path,
    pg_url: str,
    *,
    name: str = "tollhouse.db",
    schema_prefix: str = "t_",
) -> Iterator[str]:
    """A migrated, empty database URL: SQLite file `name` in `directory`, or a private schema of
    the PostgreSQL at `pg_url`, dropped afterwards."""
    if backend == "sqlite":
        url = f"sqlite:///{directory / name}"
        engine = create_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
        return
    schema = f"{schema_prefix}{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in pg_url else "?"
    url = f"{pg_url}{sep}options={quote(f'-csearch_path={schema}')}"
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
