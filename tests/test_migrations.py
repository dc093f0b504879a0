from __future__ import annotations

from sqlalchemy import inspect
from sqlalchemy.engine import Engine

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
