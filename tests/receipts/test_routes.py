"""`/usage-log/v1/` through the real app, checked by the real verifier with the hook's records,
and `tollhouse receipts` from the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from tests.api.sample_corpus import build
from tests.metering.licensees import make_licensees
from tollhouse.api.app import create_app
from tollhouse.cli.main import app as cli
from tollhouse.receipts.service import run_round
from tollhouse.receipts.signing import LogSigner
from tollhouse.settings import get_settings, load_settings
from tollhouse_verify.check import check
from tollhouse_verify.hook import OwnRecords
from tollhouse_verify.proof import Receipt
from tollhouse_verify.tree import leaf_hash


def test_a_licensee_reads_and_checks_its_own_log_only(
    engine: Engine, usage_engine: Engine, tmp_path: Path
) -> None:
    corpus = build(engine, n_posts=60, n_users=8)
    lic = make_licensees(engine, {"acme": ["a1", "a2"], "other": ["o1"]})
    url = engine.url.render_as_string(hide_password=False)
    settings = load_settings(database_url=url, spool_dir=tmp_path / "spool")
    ids = sorted(corpus.posts)
    own = OwnRecords(tmp_path / "own.jsonl")
    acme = {"Authorization": "Bearer " + lic["acme"].tokens["a1"]}
    acme2 = {"Authorization": "Bearer " + lic["acme"].tokens["a2"]}
    other = {"Authorization": "Bearer " + lic["other"].tokens["o1"]}
    with TestClient(create_app(settings)) as client:
        assert client.get("/usage-log/v1/checkpoint", headers=acme).status_code == 404
        own.install(client)
        for i in range(12):
            client.get(f"/2/tweets/{ids[i]}", headers=acme if i % 2 else acme2)
        client.get("/2/tweets", params={"ids": ",".join(map(str, ids[:5]))}, headers=acme)
        client.get(f"/2/tweets/{ids[0]}", headers=other)
        client.event_hooks["response"].clear()
    # The app's shutdown drained the usage into the store; sign now.
    run_round(settings, engine, usage_engine, force=True)
    key = str(LogSigner.from_settings(settings).verifier(lic["acme"].org_id))
    with TestClient(create_app(settings)) as client:
        report = check("http://testserver", lic["acme"].tokens["a1"], key, own.path,
                       state=tmp_path / "state", client=client)  # fmt: skip
        assert report.ok, report.failures
        assert (report.entries, report.matched) == (13, 13)
        note = client.get("/usage-log/v1/checkpoint", headers=acme)
        assert note.text.startswith(f"tollhouse.localhost/usage/{lic['acme'].org_id}\n13\n")
        # A receipt for one's own request; none for another organisation's.
        rid = json.loads(own.path.read_text().splitlines()[3])["request_id"]
        text = client.get(f"/usage-log/v1/receipt/{rid}", headers=acme).text
        receipt = Receipt.parse(text)
        assert receipt.extra is not None
        receipt.verify(leaf_hash(receipt.extra), [LogSigner.from_settings(settings).verifier(
            lic["acme"].org_id)], f"tollhouse.localhost/usage/{lic['acme'].org_id}")  # fmt: skip
        theirs = client.get(f"/usage-log/v1/receipt/{rid}", headers=other)
        assert theirs.status_code == 404 and theirs.json()["type"].endswith("resource-not-found")
        assert client.get("/usage-log/v1/tile/0/000.p/13", headers=acme).status_code == 200
        assert client.get("/usage-log/v1/tile/0/000.p/14", headers=acme).status_code == 404
        assert client.get("/usage-log/v1/tile/0/0", headers=acme).status_code == 400
        bad = client.get("/usage-log/v1/consistency", params={"old": "x", "new": "13"},
                         headers=acme)  # fmt: skip
        assert bad.status_code == 400 and bad.json()["title"] == "Invalid Request"
        assert client.get("/usage-log/v1/consistency", params={"old": 3, "new": 14},
                          headers=acme).status_code == 400  # fmt: skip
        for headers in (
            {},
            {"Authorization": "Bearer nope"},
            {"Authorization": "Bearer " + "x" * 60},
        ):
            denied = client.get("/usage-log/v1/checkpoint", headers=headers)
            assert denied.status_code == 401 and denied.json()["title"] == "Unauthorized"
        # The other organisation sees only its own one-entry log.
        assert client.get("/usage-log/v1/checkpoint", headers=other).text.split("\n")[1] == "1"


@pytest.fixture
def tollhouse_cli(database_url: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TOLLHOUSE_DATABASE_URL", database_url)
    get_settings.cache_clear()

    def run(*args: str) -> object:
        result = CliRunner().invoke(cli, [*args, "--json"])
        assert result.exit_code == 0, (args, result.output)
        return json.loads(result.stdout)

    yield run
    get_settings.cache_clear()


def test_receipts_cli(engine: Engine, tollhouse_cli) -> None:  # type: ignore[no-untyped-def]
    lic = make_licensees(engine, {"acme": ["a1"]})["acme"]
    key = tollhouse_cli("receipts", "key", "--org", "acme")
    assert key["org_id"] == lic.org_id and key["vkey"].startswith(
        f"tollhouse.localhost/usage/{lic.org_id}+"
    )
    assert tollhouse_cli("receipts", "key")["origin"] == "tollhouse.localhost/usage-roots"
    assert len(tollhouse_cli("receipts", "key", "--new")["receipts_signing_key"]) == 44
    assert tollhouse_cli("receipts", "checkpoint") == []
    from tollhouse.access.audit_trail import AuditTrail

    [entry] = [e for e in AuditTrail(engine).audit_trail() if e.action == "receipts.checkpoint"]
    assert entry.target == "*" and entry.after == []
