"""`tollhouse db upgrade|downgrade`: Alembic migrations on the configured database."""

from __future__ import annotations

import typer
from sqlalchemy.engine import make_url

from tollhouse.cli.output import console, open_engine, usage_url
from tollhouse.db import is_database_of
from tollhouse.migrations import runner

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command()
def upgrade(revision: str = typer.Argument("heads", help="Target revision.")) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    engine = open_engine()
    usage = usage_url(engine)
    runner.upgrade(engine, revision, usage_url=usage)
    console.print(f"database at {revision}: {engine.url.render_as_string(hide_password=True)}")
    if not is_database_of(engine, usage):
        console.print(f"usage tables at {revision}: {make_url(usage).render_as_string()}")


@app.command()
def downgrade(revision: str = typer.Argument(..., help="Target revision, or 'base'.")) -> None:
    """Revert migrations down to REVISION."""
    engine = open_engine()
    runner.downgrade(engine, revision, usage_url=usage_url(engine))
    console.print(f"database at {revision}")
