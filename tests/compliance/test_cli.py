"""The compliance commands as an operator scripts them: content events change what the API
serves and land in the audit trail; holdings and obligations with --json; refusals exit 1 with
one line."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from tests.api.sample_corpus import build
from tests.metering.factories import make_event
from tollhouse.access.service import AccessService
from tollhouse.cli.main import app
from tollhouse.metering.sql_store import record_events
from tollhouse.settings import get_settings


@pytest.fixture
def tollhouse(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("TOLLHOUSE_DATABASE_URL", database_url)
    for name in ("TOLLHOUSE_BUS_URL", "TOLLHOUSE_LIMITS_URL", "TOLLHOUSE_USAGE_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> Any:
        result = runner.invoke(app, [*args, "--json"])
        assert result.exit_code == code, (args, result.output)
        return json.loads(result.stdout) if result.stdout.strip() else None

    yield run
    get_settings.cache_clear()


def test_content_events_holdings_and_obligations(
    tollhouse: Any, engine: Engine, usage_engine: Engine
) -> None:
    corpus = build(engine)
    access = AccessService(engine)
    access.install_defaults("tests")
    org = access.create_org("Acme", "pro", actor="tests")
    made = access.create_app("Acme", "acme-app", actor="tests")
    post, other = corpus.visible_ids()[:2]
    at = corpus.now.replace(microsecond=0)
    record_events(
        usage_engine,
        [make_event(random.Random(1), org.id, made.id, at, post_ids=(post, other, post))],
    )
    recorded = tollhouse("content", "event", "delete", str(post))
    assert recorded["event"] == "delete" and recorded["subject_id"] == str(post)
    assert [e["event"] for e in tollhouse("content", "events", str(post))["data"]] == ["delete"]
    trail = access.audit_trail(target=str(post))
    assert [t.action for t in trail] == ["content.event"]
    held = tollhouse("holdings", "--org", "Acme")
    assert held["distinct_posts"] == 2 and held["removed_since"]["posts"] == 1
    assert held["obligations"]["no_notice"] == 1
    assert tollhouse("holdings", "--org", "Acme", "--app", "acme-app")["distinct_posts"] == 2
    owed = tollhouse("compliance", "obligations", "--org", "Acme", "--status", "no_notice")
    assert [o["id"] for o in owed["data"]] == [str(post)]
    assert tollhouse("compliance", "notify", "--org", "Acme")["notices"] == 1
    assert tollhouse("compliance", "obligations", "--org", "Acme", "--status", "open")["data"]
    # Refusals: one line, exit 1.
    tollhouse("content", "event", "explode", "1", code=1)
    tollhouse("content", "event", "withheld", str(other), code=1)  # no countries
    tollhouse("holdings", "--org", "Nobody", code=1)
    tollhouse("holdings", "--org", "Acme", "--from", "yesterday", code=1)
    withheld = tollhouse("content", "event", "withheld", str(other), "--countries", "de,fr")
    assert withheld["withheld_in_countries"] == ["DE", "FR"]
