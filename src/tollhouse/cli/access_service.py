"""The access service as the access commands (orgs, apps, keys, endusers, plans, agreements) use
it: opened on the configured database, the actor the audit trail records, refusals as one line."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from typing import TypeVar

import typer

from tollhouse.access.revocation import notifier_from_settings
from tollhouse.access.service import AccessService
from tollhouse.cli.output import fail, open_engine, print_json, settings
from tollhouse.errors import TollhouseError

T = TypeVar("T")

JSON_OPTION = typer.Option(False, "--json", help="Print machine-readable JSON.")


def service() -> AccessService:
    """The access service on the configured database, notifying servers of each change."""
    svc = AccessService(open_engine())
    notifier = notifier_from_settings(settings())
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
