"""Entry point of the `tollhouse` command; each command group lives in its own module."""

from __future__ import annotations

import typer

from tollhouse.cli import apps as apps_cli
from tollhouse.cli import corpus as corpus_cli
from tollhouse.cli import db as db_cli
from tollhouse.cli import demo as demo_cli
from tollhouse.cli import endusers as endusers_cli
from tollhouse.cli import keys as keys_cli
from tollhouse.cli import orgs as orgs_cli
from tollhouse.cli import plans as plans_cli
from tollhouse.cli import replay as replay_cli
from tollhouse.cli import serve as serve_cli
from tollhouse.cli import usage as usage_cli

app = typer.Typer(
    name="tollhouse",
    help="License a platform's posts through an X-API-v2-compatible API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db_cli.app, name="db")
app.add_typer(corpus_cli.app, name="corpus")
replay_cli.register(corpus_cli.app)
serve_cli.register(app)
app.add_typer(orgs_cli.app, name="orgs")
app.add_typer(apps_cli.app, name="apps")
app.add_typer(keys_cli.app, name="keys")
app.add_typer(endusers_cli.app, name="endusers")
app.add_typer(plans_cli.app, name="plans")
app.add_typer(plans_cli.agreements, name="agreements")
app.add_typer(usage_cli.app, name="usage")
demo_cli.register(app)


if __name__ == "__main__":
    app()
