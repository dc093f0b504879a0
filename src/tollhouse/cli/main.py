"""Entry point of the `tollhouse` command; each command group lives in its own module."""

from __future__ import annotations

import typer

from tollhouse.cli import corpus as corpus_cli
from tollhouse.cli import db as db_cli
from tollhouse.cli import serve as serve_cli

app = typer.Typer(
    name="tollhouse",
    help="License a platform's posts through an X-API-v2-compatible API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db_cli.app, name="db")
app.add_typer(corpus_cli.app, name="corpus")
serve_cli.register(app)


if __name__ == "__main__":
    app()
