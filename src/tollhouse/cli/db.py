"""`tollhouse db upgrade|downgrade`: Alembic migrations on the configured database."""

from __future__ import annotations

import typer

from tollhouse import migrate
from tollhouse.cli.common import console, open_engine

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command()
def upgrade(revision: str = typer.Argument("heads", help="Target revision.")) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    engine = open_engine()
    migrate.upgrade(engine, revision)
    console.print(f"database at {revision}: {engine.url.render_as_string(hide_password=True)}")


@app.command()
def downgrade(revision: str = typer.Argument(..., help="Target revision, or 'base'.")) -> None:
    """Revert migrations down to REVISION."""
    engine = open_engine()
    migrate.downgrade(engine, revision)
    console.print(f"database at {revision}")
