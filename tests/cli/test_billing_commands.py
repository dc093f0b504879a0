"""The billing commands as an operator scripts them: --json everywhere, refusals exit 1 with one
line, every change in the audit trail; two `billing run` processes at once make one invoice
per organisation and period with gapless numbers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pypdf import PdfReader
from typer.testing import CliRunner

from tests.billing.conftest import event, utc
from tollhouse.access.models import admin_audit
from tollhouse.access.service import AccessService
from tollhouse.billing.models import invoices
from tollhouse.cli.main import app
from tollhouse.db import create_engine, engine_beside, usage_database_url
from tollhouse.metering.sql_store import record_events
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


def _usage(database_url: str, *events: Any) -> None:
    engine = create_engine(database_url)
    usage = engine_beside(engine, usage_database_url(database_url))
    record_events(usage, events)
    usage.dispose()
    engine.dispose()


def test_a_billing_period_from_the_cli(tollhouse: Any, database_url: str, tmp_path: Path) -> None:
    tollhouse("plans", "load")
    org = tollhouse("orgs", "create", "Acme", "--plan", "enterprise")
    tollhouse("billing", "start", "Acme", "--at", "2026-03-01T00:00:00Z")
    _usage(database_url, event(org["id"], utc(2026, 3, 5), posts=50_500_000))
    summary = tollhouse("billing", "run", "--as-of", "2026-04-01T01:00:00Z")
    assert summary["rated_periods"] == 1 and summary["finalized"] == []
    [draft] = tollhouse("invoices", "list", "--org", "Acme", "--status", "draft")
    assert set(draft) >= {
        "id", "number", "org", "status", "currency", "period_start", "period_end", "lines",
        "subtotal", "credits_applied", "total",
    }  # fmt: skip
    assert set(draft["lines"][0]) == {
        "description", "quantity", "unit_price", "amount", "service_period_start",
        "service_period_end", "corrects",
    }  # fmt: skip
    assert draft["total"] == "42250.00" and draft["number"] is None

    # Refusals: one line, exit 1, nothing changed.
    err = tollhouse("invoices", "void", str(draft["id"]), "--reason", "x", code=1)
    assert err["error"]["type"] == "InvalidTransition"
    tollhouse("payments", "record", str(draft["id"]), "--amount", "-3", code=1)
    tollhouse("credits", "grant", "--org", "Acme", "--amount", "ten", code=1)
    tollhouse("credits", "grant", "--org", "Acme", "--amount", "10", "--currency", "XXX", code=1)
    tollhouse("invoices", "show", "999999", code=1)

    final = tollhouse("invoices", "finalize", str(draft["id"]))
    assert final["status"] == "finalized" and final["number"] == 1
    grant = tollhouse("credits", "grant", "--org", "Acme", "--amount", "250", "--priority", "1")
    assert tollhouse("credits", "balance", "--org", "Acme")["balance"] == grant["amount"]
    paid = tollhouse(
        "payments", "record", str(draft["id"]), "--amount", "42250.00", "--reference", "w1"
    )
    assert paid["invoice_status"] == "paid"

    for fmt in ("json", "csv", "html", "pdf"):
        out = tmp_path / f"invoice.{fmt}"
        tollhouse("invoices", "render", str(draft["id"]), "--format", fmt, "--out", str(out))
        assert out.stat().st_size > 0
    assert json.loads((tmp_path / "invoice.json").read_text())["total"] == "42250.00"
    assert "42250.00" in (tmp_path / "invoice.csv").read_text()
    html = (tmp_path / "invoice.html").read_text()
    assert "enterprise monthly fee" in html and "42250.00" in html
    text = "".join(page.extract_text() for page in PdfReader(tmp_path / "invoice.pdf").pages)
    assert "enterprise monthly fee" in text
    assert "42000.00" in text and "250.00" in text and "42250.00" in text
    tollhouse("invoices", "render", str(draft["id"]), "--format", "docx", "--out", "x", code=1)

    backbill = tollhouse(
        "billing", "backbill", "--org", "Acme", "--from", "2026-03-01", "--to", "2026-04-01"
    )
    assert set(backbill) >= {
        "rated", "invoiced", "paid", "underpayment", "underpayment_pct", "audit_cost_due",
        "due_date", "lines",
    }  # fmt: skip
    assert backbill["underpayment"] == "0.00" and backbill["audit_cost_due"] is False

    voided = tollhouse("invoices", "void", str(draft["id"]), "--reason", "test")
    assert voided["status"] == "void"
    tollhouse("payments", "record", str(draft["id"]), "--amount", "1", code=1)

    engine = create_engine(database_url)
    with engine.connect() as conn:
        actions = set(conn.execute(sa.select(admin_audit.c.action)).scalars())
    engine.dispose()
    assert {
        "billing.start", "invoice.finalize", "credits.grant", "payment.record", "invoice.void",
        "billing.load_prices",
    } <= actions  # fmt: skip


def test_an_html_invoice_escapes_what_it_shows(tollhouse: Any, tmp_path: Path) -> None:
    tollhouse("plans", "load")
    tollhouse("orgs", "create", "Acme & Sons", "--plan", "basic")
    tollhouse("billing", "start", "Acme & Sons", "--at", "2026-03-01T00:00:00Z")
    tollhouse("billing", "run", "--as-of", "2026-04-01T01:00:00Z")
    [inv] = tollhouse("invoices", "list")
    out = tmp_path / "i.html"
    tollhouse("invoices", "render", str(inv["id"]), "--format", "html", "--out", str(out))
    assert "Acme &amp; Sons" in out.read_text()


def test_two_billing_runs_at_once_make_one_invoice_per_org_and_period(
    database_url: str, tmp_path: Path
) -> None:
    engine = create_engine(database_url)
    access = AccessService(engine)
    access.install_defaults("tests")
    orgs = [access.create_org(f"Org {n}", "enterprise", "tests").id for n in range(8)]
    engine.dispose()
    _usage(
        database_url,
        *(event(o, utc(2026, m, 3), posts=50_000_000 + 1000 * o) for o in orgs for m in (1, 2, 3)),
    )
    env = {**os.environ, "TOLLHOUSE_DATABASE_URL": database_url}
    env.pop("TOLLHOUSE_LIMITS_URL", None)
    env.pop("TOLLHOUSE_BUS_URL", None)
    for o in range(8):
        subprocess.run(
            [sys.executable, "-m", "tollhouse.cli.main", "billing", "start", f"Org {o}",
             "--at", "2026-01-01T00:00:00Z", "--json"],
            env=env, check=True, capture_output=True,
        )  # fmt: skip
    cmd = [
        sys.executable, "-m", "tollhouse.cli.main", "billing", "run", "--as-of",
        "2026-04-03T00:00:00Z", "--json",
    ]  # fmt: skip
    procs = [
        subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for p in procs:
        _out, err = p.communicate(timeout=240)
        assert p.returncode == 0, err.decode()
    engine = create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(invoices.c.org_id, invoices.c.period_start, invoices.c.number)
        ).all()
    engine.dispose()
    assert len(rows) == 8 * 3
    assert len({(r[0], r[1]) for r in rows}) == len(rows)
    assert sorted(r[2] for r in rows) == list(range(1, 25))  # gapless, each used once
