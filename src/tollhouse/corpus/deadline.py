"""Reads under a deadline: a connection whose statements are cancelled after a time budget, so
that no query can hang a server thread."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import (
    Connection,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from tollhouse.corpus.errors import QueryTimedOut

T = TypeVar("T")

# SQLite virtual-machine steps between deadline checks: a Python call every step would cost more
# than the query; at this spacing the checks are under 1 % and the deadline is met within ~1 ms.
_PROGRESS_STEPS = 100_000


@contextmanager
def bounded(engine: Engine, timeout_ms: int) -> Iterator[Connection]:
    """A read connection whose statements are cancelled after `timeout_ms` in total.

    SQLite: a progress handler on the raw connection aborts the running statement once the
    deadline passes. PostgreSQL: `SET LOCAL statement_timeout` for this transaction. Either way
    the caller gets QueryTimedOut, never a hung thread.
    """
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        sqlite = isinstance(raw, sqlite3.Connection)
        if sqlite:
            assert isinstance(raw, sqlite3.Connection)
            deadline = time.monotonic() + timeout_ms / 1000

            def past_deadline() -> bool:
                return time.monotonic() > deadline

            raw.set_progress_handler(past_deadline, _PROGRESS_STEPS)
        else:
            conn.execute(text(f"SET LOCAL statement_timeout = {int(timeout_ms)}"))
        try:
            yield conn
        except Exception as exc:
            if _is_cancellation(exc):
                raise QueryTimedOut(f"query cancelled after {timeout_ms} ms") from exc
            raise
        finally:
            if sqlite:
                assert isinstance(raw, sqlite3.Connection)
                raw.set_progress_handler(None, 0)
            conn.rollback()


def _is_cancellation(exc: Exception) -> bool:
    # Raised through SQLAlchemy (wrapped, `.orig`) or straight from the driver's cursor.
    orig = exc.orig if isinstance(exc, OperationalError) else exc
    if isinstance(orig, sqlite3.OperationalError):
        return "interrupted" in str(orig)
    return type(orig).__name__ == "QueryCanceled"


def run_bounded(engine: Engine, timeout_ms: int, work: Callable[[Connection], T]) -> T:
    """Run `work(conn)` on a bounded connection (see `bounded`) and return its result."""
    with bounded(engine, timeout_ms) as conn:
        return work(conn)
