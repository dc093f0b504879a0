"""SQL store: one engine per process, SQLite by default, PostgreSQL (psycopg 3) in production.

Every domain declares its tables on `metadata`; Alembic migrations (`tollhouse.migrations`) are
the only thing that creates or changes them in a real database.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, Integer, MetaData, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.engine import create_engine as sa_create_engine
from sqlalchemy.pool import NullPool

# Stable constraint names so that migrations are the same on SQLite and PostgreSQL.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# The type of every id column: 64-bit (BIGINT) on PostgreSQL; on SQLite INTEGER, which is already
# 64-bit and is the only type that makes a primary key the rowid that autoincrement needs.
ID = BigInteger().with_variant(Integer(), "sqlite")


def normalise_url(url: str) -> str:
    """Accept `postgresql://` as shorthand for the psycopg 3 driver."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def usage_database_url(database_url: str, override: str = "") -> str:
    """Where the usage tables (metering's) live for `database_url`: `override` if set; for a
    SQLite file, a file of their own beside it (`tollhouse.db` → `tollhouse-usage.db`);
    otherwise the same database.

    Why a file of their own on SQLite: the usage store commits a batch every 0.2 s, and SQLite
    throws away every other connection's page cache for a file at the next read transaction
    after a commit to that file (and WAL checkpoints rewrite it). With the usage tables in the
    corpus's file, every API lookup re-read its pages after each usage batch, and the server's
    latency tail grew with the usage tables (bench/RESULTS.md, "Gateway"). In a file of their
    own, the corpus file changes only when posts or licensees do. PostgreSQL keeps one database:
    its shared buffers are not dropped by other sessions' commits."""
    if override:
        return normalise_url(override)
    url = normalise_url(database_url)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return url
    path = Path(parsed.database)
    return parsed.set(
        database=str(path.with_name(f"{path.stem}-usage{path.suffix}"))
    ).render_as_string(hide_password=False)


def is_database_of(engine: Engine, url: str) -> bool:
    """Whether `url` names `engine`'s database (compared parsed: the text may differ)."""
    return bool(make_url(normalise_url(url)) == engine.url)


def engine_beside(engine: Engine, url: str) -> Engine:
    """An engine on `url`: `engine` itself when it is the same database (one pool, and for
    the caller one thing to dispose), else a new one."""
    return engine if is_database_of(engine, url) else create_engine(url)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


# Database and spool files hold key hashes, usage and who read what: owner-only. SQLite gives
# its -wal and -shm files the mode of the database file, so creating that one is enough.
PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def create_private_dir(directory: Path) -> None:
    """`mkdir -p` whose every created level is owner-only (existing ones are left as they are)."""
    missing = []
    for level in (directory, *directory.parents):
        if level.exists():
            break
        missing.append(level)
    for level in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it first
            level.mkdir(mode=PRIVATE_DIR_MODE)


def create_private_file(path: Path) -> None:
    """Create `path` empty and owner-only unless it exists (an empty file is a valid SQLite
    database), with owner-only parent directories where they are created."""
    create_private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return
    os.close(fd)


def create_engine(url: str, *, pool_size: int | None = None, **kwargs: Any) -> Engine:
    """An engine tuned for Tollhouse: WAL SQLite with foreign keys, or pooled PostgreSQL.

    `pool_size`: connections kept open (default 10 for PostgreSQL, 5 for SQLite). A server sizes
    it to the threads that query at once: a connection past the pool size is closed when it is
    returned, so an undersized pool reconnects on every request under load (and a new SQLite
    connection starts with a cold page cache)."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            create_private_file(Path(parsed.database))
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        if parsed.database in (None, "", ":memory:"):
            kwargs.setdefault("poolclass", NullPool)
        elif pool_size is not None:
            kwargs.setdefault("pool_size", pool_size)
        engine = sa_create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", pool_size or 10)
    kwargs.setdefault("max_overflow", 20)
    return sa_create_engine(url, **kwargs)


SQLITE_PAGE_SIZE = 16_384
# Reads through a memory map of the database file (up to this size) instead of read(2) into each
# connection's page cache. Why: SQLite drops a connection's whole page cache when it starts a
# read transaction after another connection committed — and the usage store commits every
# 0.2 s into the same file — so each lookup thread re-read its working set after every store
# batch (a 100-id lookup 0.85 → ~6 ms at p99, the server's p99 at half load 9-13 ms against
# 4-6 ms with the map; bench/RESULTS.md, "Gateway"). Through the map a page is a pointer into the
# OS page cache, whatever was dropped. Address space only: the pages are the kernel's.
SQLITE_MMAP_BYTES = 1 << 30


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the single writer; NORMAL sync is durable across process
    # crashes (only an OS crash can lose the last transactions), which is what WAL is for.
    cursor = dbapi_connection.cursor()
    # 16 KB pages for a new database (a file's page size is fixed when its first page is
    # written, here by the switch to WAL, so this comes first; on an existing file the pragma
    # changes nothing). Bulk loading writes fewer, fuller pages: the generator's writing
    # process 12.7 → 10.5 µs of CPU per post; search, lookup and timeline latencies measured
    # the same or lower (bench/RESULTS.md, "Corpus generator").
    cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
    cursor.close()
