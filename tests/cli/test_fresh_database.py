"""Every `tollhouse` command run on a database that was never migrated says so in one line.

The commands are enumerated from the typer app itself, so a new command is covered without
editing this file; each runs as the installed console script would (a subprocess), because what
is under test is what an operator sees: stderr, stdout and the exit status.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import text
from typer.main import get_command

from tollhouse.cli.main import app
from tollhouse.cli.schema_state import NOT_MIGRATED
from tollhouse.db import create_engine

ONE_LINE = f"error: {NOT_MIGRATED}\n"
# Not expected to refuse: `db upgrade` is what migrates, `db downgrade` on an empty database has
# nothing to revert, and `demo` recreates a database of its own and then serves.
NEEDS_NO_SCHEMA = {("db", "upgrade"), ("db", "downgrade"), ("demo",)}
# Values for required parameters, by name; anything else gets "1" (ints, floats, ids).
VALUES = {
    "name": "Acme",
    "org": "Acme",
    "plan": "pro",
    "app_name": "acme-app",
    "reason": "testing",
    "key_id": "abcdefghij",
    "sector": "government",
    "country": "GB",
}
# Options a command checks itself before it opens the database.
EXTRA: dict[tuple[str, ...], list[str]] = {("usage",): ["--org", "Acme"]}
# Required parameters a command checks itself before it opens the database, by command.
VALUES_OF: dict[tuple[str, ...], dict[str, str]] = {
    ("apps", "add-use-case"): {"name": "archive_research"}
}


def _commands() -> Iterator[tuple[tuple[str, ...], Any]]:
    def walk(command: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
        if hasattr(command, "list_commands"):
            for name in command.list_commands(None):
                yield from walk(command.get_command(None, name), (*path, name))
            if getattr(command, "invoke_without_command", False):
                yield path, command
        else:
            yield path, command

    yield from walk(get_command(app), ())


def _argv(path: tuple[str, ...], command: Any, existing_file: Path) -> list[str]:
    argv = list(path)
    for param in command.params:
        if not param.required:
            continue
        annotation = param.type_descriptor.annotation
        values = {**VALUES, **VALUES_OF.get(path, {})}
        value = str(existing_file) if annotation is Path else values.get(param.name, "1")
        argv += [value] if type(param).__name__ == "TyperArgument" else [param.opts[0], value]
    return argv + EXTRA.get(path, [])


def _run(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tollhouse.cli.main", *argv],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def fresh(tmp_path: Path) -> dict[str, str]:
    """The environment of a shell pointed at a database nobody has migrated."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLHOUSE_")}
    env["TOLLHOUSE_DATABASE_URL"] = f"sqlite:///{tmp_path / 'fresh.db'}"
    env["TOLLHOUSE_SPOOL_DIR"] = str(tmp_path / "spool")
    # A bus that refuses, so that `corpus replay` gets past "use a shared bus" to the database.
    env["TOLLHOUSE_BUS_URL"] = "redis://127.0.0.1:1/0"
    return env


def test_every_command_before_db_upgrade_prints_one_line_and_exits_1(
    fresh: dict[str, str], tmp_path: Path
) -> None:
    posts = tmp_path / "posts.jsonl"
    posts.write_text('{"id": "1", "text": "x", "author_id": "2"}\n')
    cases = [
        (path, _argv(path, command, posts))
        for path, command in _commands()
        if path not in NEEDS_NO_SCHEMA
    ]
    assert len(cases) >= 30  # the enumeration found the commands (all of them, as of writing)
    with ThreadPoolExecutor(4) as pool:
        done = list(pool.map(lambda case: _run(case[1], fresh, tmp_path), cases))
    wrong = {
        " ".join(argv): (result.returncode, result.stderr[-300:])
        for (_, argv), result in zip(cases, done, strict=True)
        if (result.returncode, result.stderr) != (1, ONE_LINE)
    }
    assert wrong == {}


def test_the_refusal_is_json_with_json(fresh: dict[str, str], tmp_path: Path) -> None:
    result = _run(["orgs", "list", "--json"], fresh, tmp_path)
    assert (result.returncode, result.stderr) == (1, ONE_LINE)
    assert json.loads(result.stdout) == {"error": {"type": "NotMigrated", "message": NOT_MIGRATED}}


def test_production_refuses_a_weak_admin_token_in_one_line(
    fresh: dict[str, str], tmp_path: Path
) -> None:
    env = {**fresh, "TOLLHOUSE_ENVIRONMENT": "production", "TOLLHOUSE_ADMIN_TOKEN": "a"}
    for argv in (["serve"], ["orgs", "list"]):
        result = _run(argv, env, tmp_path)
        assert result.returncode == 1
        assert result.stderr.count("\n") == 1, result.stderr
        assert result.stderr.startswith(
            "error: TOLLHOUSE_ADMIN_TOKEN is shorter than 32 characters outside development"
        )


def test_db_upgrade_makes_a_fresh_database_usable_and_says_what_it_loaded(
    fresh: dict[str, str], tmp_path: Path
) -> None:
    first = _run(["db", "upgrade"], fresh, tmp_path)
    assert first.returncode == 0, first.stderr
    assert "no plans yet: loaded the shipped price book (free, basic, pro, enterprise)" in (
        first.stdout
    )
    assert "no agreement yet: published the shipped agreement" in first.stdout
    again = json.loads(_run(["db", "upgrade", "--json"], fresh, tmp_path).stdout)
    assert again["plans_loaded"] == [] and again["agreement_published"] is None
    made = _run(["orgs", "create", "Acme", "--plan", "pro"], fresh, tmp_path)
    assert made.returncode == 0, made.stderr
    accepted = _run(["orgs", "accept-agreement", "Acme"], fresh, tmp_path)
    assert accepted.returncode == 0, accepted.stderr


def test_an_empty_postgresql_schema_is_not_migrated_either(tmp_path: Path) -> None:
    base = os.environ.get("TOLLHOUSE_TEST_DATABASE_URL", "")
    if not base:
        pytest.skip("TOLLHOUSE_TEST_DATABASE_URL not set")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in base else "?"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLHOUSE_")}
    env["TOLLHOUSE_DATABASE_URL"] = f"{base}{sep}options={quote(f'-csearch_path={schema}')}"
    env["TOLLHOUSE_SPOOL_DIR"] = str(tmp_path / "spool")
    try:
        for argv in (["orgs", "list"], ["usage", "--org", "Acme"], ["serve"]):
            result = _run(argv, env, tmp_path)
            assert (result.returncode, result.stderr) == (1, ONE_LINE), argv
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
