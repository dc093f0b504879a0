"""Command output and exits: plain text, tables, JSON, one-line errors; and the settings and
engines every command opens."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import orjson
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy.engine import Engine

from tollhouse.db import create_engine, engine_beside, usage_database_url
from tollhouse.errors import TollhouseError
from tollhouse.settings import Settings, get_settings

console = Console()
err_console = Console(stderr=True)


def settings() -> Settings:
    try:
        return get_settings()
    except TollhouseError as exc:
        fail(str(exc))


def open_engine(database_url: str | None = None) -> Engine:
    return create_engine(database_url or settings().database_url)


def usage_url(engine: Engine) -> str:
    """The usage tables' database for the main database `engine` (db.usage_database_url): the
    configured `usage_database_url`, else derived from `engine`'s."""
    main = engine.url.render_as_string(hide_password=False)
    return usage_database_url(main, settings().usage_database_url)


def open_usage_engine(engine: Engine) -> Engine:
    """An engine on the usage tables' database: `engine` itself when they share it."""
    return engine_beside(engine, usage_url(engine))


def fail(message: str, code: int = 1) -> NoReturn:
    # One line however long (a terminal may wrap it; rich must not): scripts read it.
    err_console.print(f"[red]error:[/red] {message}", soft_wrap=True)
    raise typer.Exit(code)


def print_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


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
