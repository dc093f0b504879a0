"""Alembic environment: runs migrations on the connection or URL the caller passes in."""

from __future__ import annotations

from alembic import context

from tollhouse.db import create_engine
from tollhouse.migrations import metadata as models_metadata

config = context.config
target_metadata = models_metadata.all_metadata()


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        _run_on(conn)
    engine.dispose()


def _run_on(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite needs batch mode to alter tables
    )
    with context.begin_transaction():
        context.run_migrations()


run()
