"""Whether the database a command opens has been migrated, and the one line that says it has not.

Every command but `tollhouse db upgrade` (and `demo`, which builds its own database) needs the
schema. A command run before it fails on its first query; `cli.main` turns that failure into
`NOT_MIGRATED` instead of SQLAlchemy's "no such table" traceback, and commands that would start
long work first (`serve`, `corpus generate`, `corpus import`) ask `require_migrated` up front.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from tollhouse.errors import TollhouseError

NOT_MIGRATED = "database not migrated — run tollhouse db upgrade"
# SQLSTATE of a missing table (PostgreSQL's undefined_table) and SQLite's text for it.
_UNDEFINED_TABLE = "42P01"
_SQLITE_NO_TABLE = "no such table"


class NotMigrated(TollhouseError):
    """The database (or the usage database beside it) has no schema yet."""

    def __init__(self) -> None:
        super().__init__(NOT_MIGRATED)


def is_missing_schema(exc: BaseException) -> bool:
    """Whether `exc` (or what caused it) is a query that found no table: an unmigrated database."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, NotMigrated):
            return True
        if isinstance(current, DBAPIError):
            original = current.orig
            if getattr(original, "sqlstate", None) == _UNDEFINED_TABLE:
                return True
            if _SQLITE_NO_TABLE in str(original):
                return True
        current = current.__cause__ or current.__context__
    return False


def is_migrated(engine: Engine) -> bool:
    """Whether Alembic has recorded a revision in `engine`'s database."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return False
        return conn.execute(sa.text("SELECT 1 FROM alembic_version LIMIT 1")).first() is not None


def require_migrated(*engines: Engine) -> None:
    """Raise `NotMigrated` unless every one of `engines` has been migrated."""
    for engine in engines:
        if not is_migrated(engine):
            raise NotMigrated
