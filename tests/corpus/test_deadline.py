"""No statement outlives the deadline: it is cancelled and reported as QueryTimedOut."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tollhouse.corpus.deadline import run_bounded
from tollhouse.corpus.errors import QueryTimedOut


def endless(engine: Engine) -> str:
    if engine.dialect.name == "sqlite":
        return (
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
        )
    return "SELECT pg_sleep(30)"


def test_runaway_statement_is_cancelled(engine: Engine) -> None:
    with pytest.raises(QueryTimedOut):
        run_bounded(engine, 100, lambda conn: conn.execute(text(endless(engine))).scalar())
    # The connection went back to the pool usable, without the deadline.
    assert run_bounded(engine, 100, lambda conn: conn.execute(text("SELECT 1")).scalar()) == 1


def test_other_errors_pass_through(engine: Engine) -> None:
    with pytest.raises(Exception) as exc:
        run_bounded(engine, 1000, lambda conn: conn.execute(text("SELECT * FROM nowhere")))
    assert not isinstance(exc.value, QueryTimedOut)
