"""`tollhouse endusers …`: the downstream customers an organisation declares."""

from __future__ import annotations

import typer

from tollhouse.access.service import EndUserView
from tollhouse.cli.access_service import JSON_OPTION, actor, run, service
from tollhouse.cli.output import emit, say, table
from tollhouse.ids import parse_id

app = typer.Typer(help="Declared end users of an organisation.", no_args_is_help=True)


def _line(view: EndUserView) -> None:
    approved = f"approved by {view.approved_by}" if view.approved else "not approved"
    say(f"end user #{view.id} {view.name} of {view.org} [{view.sector}, {view.country}] {approved}")


@app.command()
def add(
    name: str,
    org: str = typer.Option(..., "--org"),
    sector: str = typer.Option(..., "--sector", help="government|commercial|academic|nonprofit"),
    country: str = typer.Option(..., "--country", help="ISO 3166 two-letter code."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Declare an end user (not approved until an operator approves it)."""
    view = run(lambda: service().add_end_user(org, name, sector, country, actor()), as_json)
    emit(view.to_dict(), as_json, lambda: _line(view))


@app.command()
def approve(
    end_user_id: str = typer.Argument(..., help="The end user's id (as `endusers list` shows)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Approve a declared end user."""
    view = run(
        lambda: service().approve_end_user(parse_id(end_user_id, "end user id"), actor()), as_json
    )
    emit(view.to_dict(), as_json, lambda: _line(view))


@app.command("list")
def list_(org: str = typer.Option(..., "--org"), as_json: bool = JSON_OPTION) -> None:
    """End users an organisation declared."""
    views = run(lambda: service().list_end_users(org), as_json)
    emit(
        [v.to_dict() for v in views],
        as_json,
        lambda: table(
            f"end users of {org}",
            ["id", "name", "sector", "country", "approved"],
            [(v.id, v.name, v.sector, v.country, v.approved) for v in views],
        ),
    )
