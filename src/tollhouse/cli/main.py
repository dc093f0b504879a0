"""Entry point of the `tollhouse` command; each command group lives in its own module.

The groups are imported only when named: `tollhouse usage …` must not pay for FastAPI, uvicorn,
the access service and Alembic, which the other groups pull in (bench/metering.py times the
command with interpreter start-up). `tollhouse --help` still lists them all (it imports each).
"""

from __future__ import annotations

import gc
import importlib
import sys
from collections.abc import Callable
from functools import cache
from typing import NoReturn

import typer
from typer._click import ClickException, Command, Context  # typer vendors click
from typer.core import TyperGroup
from typer.main import get_command

# name → (module under tollhouse.cli, attribute): a typer.Typer group, or a function that is
# one command. Listed in the order `--help` shows them.
_COMMANDS: dict[str, tuple[str, str]] = {
    "db": ("db", "app"),
    "corpus": ("corpus", "app"),
    "serve": ("serve", "serve"),
    "orgs": ("orgs", "app"),
    "apps": ("apps", "app"),
    "keys": ("keys", "app"),
    "endusers": ("endusers", "app"),
    "plans": ("plans", "app"),
    "agreements": ("plans", "agreements"),
    "usage": ("usage", "app"),
    "compliance": ("compliance", "app"),
    "findings": ("findings", "app"),
    "demo": ("demo", "demo"),
}


def _command_of(target: typer.Typer | Callable[..., object]) -> Command:
    if not isinstance(target, typer.Typer):
        single = typer.Typer()
        single.command()(target)
        target = single
    return get_command(target)


@cache
def _load(name: str) -> Command:
    module_name, attribute = _COMMANDS[name]
    module = importlib.import_module(f"tollhouse.cli.{module_name}")
    command = _command_of(getattr(module, attribute))
    command.name = name
    if name == "corpus":
        # `corpus replay` lives in its own module (it belongs to the streams domain).
        from tollhouse.cli import replay as replay_cli

        replay_group = typer.Typer()
        replay_cli.register(replay_group)
        assert isinstance(command, TyperGroup)
        command.add_command(get_command(replay_group), "replay")
    return command


class _LazyGroup(TyperGroup):
    """The top-level group: subcommands imported on first use, and the one place where an error
    that escapes a command becomes one line on stderr and exit status 1 (never a traceback)."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        ctx.meta["tollhouse.json"] = "--json" in args
        return super().parse_args(ctx, args)

    def invoke(self, ctx: Context) -> object:
        from tollhouse.errors import TollhouseError

        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, ClickException):
            raise  # an exit a command chose, already reported
        except Exception as exc:
            # Imported on the error path only: a command that succeeds never loads it.
            from tollhouse.cli.schema_state import NOT_MIGRATED, is_missing_schema

            if is_missing_schema(exc):
                message, kind = NOT_MIGRATED, "NotMigrated"
            elif isinstance(exc, TollhouseError):
                message, kind = str(exc), type(exc).__name__
            else:
                raise
            _fail_in_one_line(message, kind, as_json=bool(ctx.meta.get("tollhouse.json")))

    def list_commands(self, ctx: Context) -> list[str]:
        return [*self.commands, *(n for n in _COMMANDS if n not in self.commands)]

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if cmd_name not in self.commands and cmd_name in _COMMANDS:
            self.commands[cmd_name] = _load(cmd_name)
        return self.commands.get(cmd_name)


def _fail_in_one_line(message: str, kind: str, *, as_json: bool) -> NoReturn:
    if as_json:
        import json

        error = {"error": {"type": kind, "message": message}}
        sys.stdout.write(json.dumps(error, ensure_ascii=False) + "\n")
    sys.stderr.write(f"error: {' '.join(message.split())}\n")
    raise typer.Exit(1)


app = typer.Typer(
    name="tollhouse",
    cls=_LazyGroup,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _main() -> None:
    """License a platform's posts through an X-API-v2-compatible API."""


# Groups whose commands are batch jobs in a process of their own (`corpus generate`, `import`,
# `replay`), where `main` keeps the cyclic collector off what lives until exit anyway.
_BATCH_GROUPS = frozenset({"corpus"})


def main() -> None:
    """The `tollhouse` console script: `app`, with the cyclic garbage collector kept off
    objects that live until the process exits, for the batch groups.

    Importing a batch group creates many long-lived objects that collections during the import
    and at exit only re-scan (figures: bench/RESULTS.md, "CLI start-up and exit"). So the group
    is imported with the collector paused and what the import made is frozen, and on the way out
    everything is frozen: the process is ending, its output written, and CPython does not
    promise to finalise objects still alive at exit. Other commands (a server) are unchanged.
    """
    batch = len(sys.argv) > 1 and sys.argv[1] in _BATCH_GROUPS
    if batch:
        enabled = gc.isenabled()
        gc.disable()
        try:
            _load(sys.argv[1])
        finally:
            gc.freeze()
            if enabled:
                gc.enable()
    try:
        app()
    finally:
        if batch:
            gc.freeze()


if __name__ == "__main__":
    main()
