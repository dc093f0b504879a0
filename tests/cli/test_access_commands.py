"""The access commands, as an operator scripts them: every command with --json, refusals exit 1
with a clear message."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tollhouse.cli.main import app
from tollhouse.settings import get_settings


@pytest.fixture
def tollhouse(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("TOLLHOUSE_DATABASE_URL", database_url)
    for name in ("TOLLHOUSE_BUS_URL", "TOLLHOUSE_LIMITS_URL"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> Any:
        result = runner.invoke(app, [*args, "--json"])
        assert result.exit_code == code, (args, result.output)
        return json.loads(result.stdout) if result.stdout.strip() else None

    yield run
    get_settings.cache_clear()


def test_onboarding_from_the_cli(tollhouse: Any) -> None:
    changed = tollhouse("plans", "load")["changed"]
    assert changed == ["free", "basic", "pro", "enterprise", "pay_per_use"]
    assert [p["name"] for p in tollhouse("plans", "list")][:3] == ["free", "pay_per_use", "basic"]
    assert tollhouse("agreements", "publish")["version"] == "2026-01"
    assert tollhouse("agreements", "show")["terms"]["deletion_deadline_hours"] == 24
    org = tollhouse("orgs", "create", "Acme", "--plan", "basic", "--billing-day", "7")
    assert org["billing_day"] == 7 and not org["agreement_accepted"]
    assert tollhouse("orgs", "accept-agreement", "Acme", "--by", "Jane")["accepted_by"] == "Jane"
    made = tollhouse("apps", "create", "--org", "Acme", "acme-app", "--use-case", "display")
    assert made["use_cases"] == ["display"]
    assert [a["name"] for a in tollhouse("apps", "list", "--org", "Acme")] == ["acme-app"]
    key = tollhouse("keys", "create", "--app", "acme-app")
    assert set(key) == {"id", "token"} and key["token"].startswith("th_live_")
    rotated = tollhouse("keys", "rotate", key["id"], "--grace-hours", "1")
    assert rotated["replaces"] == key["id"]
    assert tollhouse("keys", "revoke", key["id"])["status"] == "revoked"
    listed = {k["id"]: k["status"] for k in tollhouse("keys", "list", "--app", "acme-app")}
    assert listed == {key["id"]: "revoked", rotated["id"]: "active"}
    end_user = tollhouse(
        "endusers", "add", "--org", "Acme", "Agency", "--sector", "government", "--country", "us"
    )
    assert end_user["government"] and end_user["country"] == "US"
    assert tollhouse("endusers", "approve", str(end_user["id"]))["approved"]
    assert tollhouse("endusers", "list", "--org", "Acme")[0]["approved"]
    assert tollhouse("orgs", "suspend", "Acme", "--reason", "audit")["status"] == "suspended"
    assert tollhouse("orgs", "resume", "Acme")["status"] == "active"
    assert tollhouse("orgs", "set-plan", "Acme", "pro")["plan"] == "pro"
    shown = tollhouse("orgs", "show", "Acme")
    assert shown["agreement_accepted"] and len(shown["keys"]) == 2
    assert key["token"] not in json.dumps(shown)
    assert [o["name"] for o in tollhouse("orgs", "list")] == ["Acme"]
    assert "display" in tollhouse("apps", "use-cases")


def test_refusals_exit_1_with_a_message(tollhouse: Any) -> None:
    tollhouse("plans", "load")
    tollhouse("orgs", "create", "Acme", "--plan", "free")
    cases = [
        (("orgs", "create", "Acme", "--plan", "pro"), "already exists"),
        (("orgs", "create", "Beta", "--plan", "gold"), "no plan named 'gold'"),
        (("orgs", "show", "Nope"), "no organisation named 'Nope'"),
        (("orgs", "accept-agreement", "Acme"), "no agreement has been published"),
        (("apps", "create", "--org", "Nope", "x"), "no organisation"),
        (("apps", "create", "--org", "Acme", "x", "--use-case", "spying"), "unknown use case"),
        (("keys", "create", "--app", "nope"), "no app named"),
        (("keys", "revoke", "AAAAAAAAAA"), "no key"),
        (
            ("endusers", "add", "--org", "Acme", "X", "--sector", "army", "--country", "GB"),
            "sector",
        ),
        (("endusers", "approve", "42"), "no end user"),
        (("endusers", "approve", "99999999999999999999"), "at most 19 digits"),
        (("endusers", "approve", "9223372036854775808"), "between 1 and"),
        (("endusers", "approve", "2147483648"), "no end user"),
    ]
    for args, message in cases:
        out = tollhouse(*args, code=1)
        assert message in out["error"]["message"], args
    tollhouse("apps", "create", "--org", "Acme", "only-app")
    out = tollhouse("apps", "create", "--org", "Acme", "second-app", code=1)
    assert out["error"]["type"] == "TooManyApps"


def test_plans_load_from_a_file_is_all_or_nothing(tollhouse: Any, tmp_path: Path) -> None:
    book = tmp_path / "plans.toml"
    book.write_text("[plans.a]\nmonthly_fee='1'\nmax_apps=1\nendpoints=['/2/tweets']\n"
                    "[plans.b]\nmonthly_fee='1'\nmax_apps=1\nendpoints=['/2/bogus']\n")  # fmt: skip
    assert "unknown endpoint" in tollhouse("plans", "load", str(book), code=1)["error"]["message"]
    assert tollhouse("plans", "list") == []
    missing = tollhouse("plans", "load", str(tmp_path / "missing.toml"), code=1)
    assert "cannot read" in missing["error"]["message"]
