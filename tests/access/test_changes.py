"""One change, one transaction: a unique constraint that fires is a DuplicateName; any other
integrity error is a bug and comes out as it is, with nothing written."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from tollhouse.access.changes import Changes
from tollhouse.access.errors import DuplicateName
from tollhouse.access.models import use_cases


def add(name: str, description: str | None) -> Callable[[Connection], None]:
    def change(conn: Connection) -> None:
        conn.execute(use_cases.insert().values(name=name, description=description))

    return change


def names(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(use_cases.c.name)).scalars())


def test_a_unique_violation_is_a_duplicate_name(engine: Engine) -> None:
    changes = Changes(engine)
    changes.write(add("racing", "first"))
    with pytest.raises(DuplicateName):
        changes.write(add("racing", "second"))


def test_other_integrity_errors_are_not_duplicate_names(engine: Engine) -> None:
    called: list[int] = []
    changes = Changes(engine, [lambda: called.append(1)])
    before = names(engine)
    with pytest.raises(IntegrityError) as raised:
        changes.write(add("no_description", None))
    assert not isinstance(raised.value, DuplicateName)
    assert names(engine) == before
    assert called == []
