"""`tollhouse apps …`: an organisation's apps and the use-case vocabulary."""

from __future__ import annotations

import typer

from tollhouse.access.service import AppView
from tollhouse.cli.access_service import JSON_OPTION, actor, run, service
from tollhouse.cli.output import emit, say, table

app = typer.Typer(help="Apps of an organisation.", no_args_is_help=True)


def _line(view: AppView) -> None:
    say(
        f"app {view.name} (org {view.org}) [{view.status}] use cases: "
        f"{', '.join(view.use_cases) or '-'}"
    )


@app.command()
def create(
    name: str = typer.Argument(..., help="App name (unique)."),
    org: str = typer.Option(..., "--org", help="Owning organisation."),
    use_case: list[str] = typer.Option([], "--use-case", help="Declared use case (repeatable)."),
    description: str = typer.Option("", "--description", help="Use case in your own words."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Create an app (refused past the plan's max apps)."""
    view = run(lambda: service().create_app(org, name, actor(), use_case, description), as_json)
    emit(view.to_dict(), as_json, lambda: _line(view))


@app.command("list")
def list_(org: str = typer.Option(..., "--org"), as_json: bool = JSON_OPTION) -> None:
    """Apps of an organisation."""
    views = run(lambda: service().list_apps(org), as_json)
    emit(
        [v.to_dict() for v in views],
        as_json,
        lambda: table(
            f"apps of {org}",
            ["name", "status", "use cases", "created"],
            [(v.name, v.status, ", ".join(v.use_cases), v.created_at) for v in views],
        ),
    )


@app.command()
def suspend(name: str, as_json: bool = JSON_OPTION) -> None:
    """Suspend one app (its keys stop within a second)."""
    view = run(lambda: service().suspend_app(name, actor()), as_json)
    emit(view.to_dict(), as_json, lambda: _line(view))


@app.command()
def resume(name: str, as_json: bool = JSON_OPTION) -> None:
    """Resume a suspended app."""
    view = run(lambda: service().resume_app(name, actor()), as_json)
    emit(view.to_dict(), as_json, lambda: _line(view))


@app.command("use-cases")
def use_cases(as_json: bool = JSON_OPTION) -> None:
    """The declared-use-case vocabulary."""
    vocabulary = run(lambda: service().list_use_cases(), as_json)
    emit(
        vocabulary,
        as_json,
        lambda: table("use cases", ["name", "description"], sorted(vocabulary.items())),
    )


@app.command("add-use-case")
def add_use_case(
    name: str, description: str = typer.Option("", "--description"), as_json: bool = JSON_OPTION
) -> None:
    """Extend the use-case vocabulary."""
    run(lambda: service().add_use_case(name, description, actor()), as_json)
    emit(
        {"name": name, "description": description},
        as_json,
        lambda: say(f"use case {name} added"),
    )
