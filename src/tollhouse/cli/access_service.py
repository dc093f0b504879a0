"""What the access commands (orgs, apps, keys, endusers, plans, agreements) share."""

from __future__ import annotations

import getpass
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import typer
from rich.table import Table
from rich.text import Text

from tollhouse.access.revocation import notifier_for
from tollhouse.access.service import AccessService
from tollhouse.cli.output import console, fail, open_engine, print_json, settings
from tollhouse.errors import TollhouseError

T = TypeVar("T")

JSON_OPTION = typer.Option(False, "--json", help="Print machine-readable JSON.")


def service() -> AccessService:
    """The access service on the configured database, notifying servers of each change."""
    svc = AccessService(open_engine())
    notifier = notifier_for(settings())
    if notifier is not None:
        svc.on_change.append(notifier)
    return svc


def actor() -> str:
    """Who the audit trail records for CLI changes."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def run(operation: Callable[[], T], as_json: bool) -> T:
    """Run an operation; a refusal prints a clear message (and JSON with --json), exit 1."""
    try:
        return operation()
    except TollhouseError as exc:
        if as_json:
            print_json({"error": {"type": type(exc).__name__, "message": str(exc)}})
        fail(str(exc))


def emit(value: Any, as_json: bool, render: Callable[[], None]) -> None:
    if as_json:
        print_json(value)
    else:
        render()


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    out = Table(title=title)
    for column in columns:
        out.add_column(column)
    for row in rows:
        # Text, not markup: names are user data and may contain [brackets].
        out.add_row(*(Text("" if v is None else str(v)) for v in row))
    console.print(out)


def say(text: str) -> None:
    """Print plain text (never interpreted as rich markup, never wrapped mid-value)."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)
