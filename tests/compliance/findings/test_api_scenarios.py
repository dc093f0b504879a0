"""Scenarios driven through the real app (TestClient over the ASGI app, real keys, metering's
spool and store): key sharing against declared egress, government end users before and after
approval, use cases; then the findings over /admin/v1/findings and the CLI."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Receive, Scope, Send
from typer.testing import CliRunner

from tests.api.sample_corpus import SampleCorpus, build
from tests.compliance.findings.world import World
from tollhouse.api.app import create_app
from tollhouse.cli.main import app as cli
from tollhouse.settings import load_settings

ADMIN = {"Authorization": "Bearer dev-admin-token", "X-Tollhouse-Actor": "ops"}


class ClientAddress:
    """Sets the ASGI client address from `x-test-client` (the tests' stand-in for many
    networks; a real deployment gets it from the socket or a trusted proxy)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope["headers"]:
                if name == b"x-test-client":
                    scope = {**scope, "client": (value.decode(), 40000)}
        await self.app(scope, receive, send)


@pytest.fixture
def corpus(engine: Engine) -> SampleCorpus:
    return build(engine, n_posts=60, n_users=8)


@pytest.fixture
def server(engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    url = engine.url.render_as_string(hide_password=False)
    app = create_app(load_settings(database_url=url, spool_dir=tmp_path / "spool"))
    with TestClient(ClientAddress(app)) as client:
        yield client


def _get(client: TestClient, token: str, ids: list[int], **headers: str) -> None:
    response = client.get(
        "/2/tweets",
        params={"ids": ",".join(map(str, ids))},
        headers={"Authorization": f"Bearer {token}", **headers},
    )
    assert response.status_code == 200, response.text


def _stop(client: TestClient) -> None:
    # Leaving the client's context stops the app, whose writer drains into the store.
    client.__exit__(None, None, None)


def test_key_sharing_fires_on_many_networks_and_agents_not_on_declared_egress(
    world: World, corpus: SampleCorpus, server: TestClient
) -> None:
    shared = world.org("Sharer", ["sharer-app"])
    scale = world.org("Big Cloud User", ["cloud-app"])
    world.rules_toml = (
        '[[declared_networks]]\norg = "Big Cloud User"\n'
        'cidrs = ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"]\n'
    )
    ids = sorted(corpus.posts)[:5]
    agents = [f"agent-{i}/1.0" for i in range(12)]
    for i in range(48):  # 40 networks, 12 agents
        where = {"x-test-client": f"10.{i % 40}.0.{i % 7 + 1}", "User-Agent": agents[i % 12]}
        _get(server, shared.tokens["sharer-app"], ids, **where)
    egress = itertools.cycle(["192.0.2.", "198.51.100.", "203.0.113."])
    for i in range(240):  # five times the volume, three declared ranges, one agent
        where = {"x-test-client": f"{next(egress)}{i % 250}", "User-Agent": "cloud-sync/2"}
        _get(server, scale.tokens["cloud-app"], ids, **where)
    _stop(server)
    world.evaluate_now(only_rules=["keys.shared"])
    (f,) = world.findings(rule="keys.shared")
    assert f.org == "Sharer" and f.key == shared.keys["sharer-app"] and f.app == "sharer-app"
    assert f.evidence["counts"]["max_networks"] == 40
    assert f.evidence["counts"]["max_agents"] == 12
    assert f.evidence["counts"]["requests"] == 48
    assert len(f.evidence["sample_request_ids"]) == 5
    assert f.grade == "probable" and f.clause == "2026-01 §6"


def test_government_end_user_used_before_approval_fires_with_both_dates(
    world: World, corpus: SampleCorpus, server: TestClient
) -> None:
    early = world.org("Early Corp", ["early-app"])
    late = world.org("Careful Corp", ["careful-app"])
    ids = sorted(corpus.posts)[:3]
    careful_user = world.service.add_end_user(
        "Careful Corp", "City Council", "government", "GB", "ops"
    )
    world.service.approve_end_user(careful_user.id, actor="ops")
    # The edge refuses a declared government end user until it is approved, so Early Corp's
    # first use is of a name it had not declared yet: served, recorded, and declared later.
    _get(server, early.tokens["early-app"], ids, **{"X-End-User": "Border Agency"})
    _get(server, late.tokens["careful-app"], ids, **{"X-End-User": "City Council"})
    early_user = world.service.add_end_user(
        "Early Corp", "Border Agency", "government", "GB", "ops"
    )
    world.service.approve_end_user(early_user.id, actor="ops")
    _get(server, early.tokens["early-app"], ids, **{"X-End-User": "Border Agency"})
    _stop(server)
    world.evaluate_now(only_rules=["government.undeclared_end_user"])
    (f,) = world.findings(rule="government.undeclared_end_user")
    assert f.org == "Early Corp" and f.grade == "confirmed" and f.severity == "critical"
    approved = next(u for u in world.service.list_end_users("Early Corp")).approved_at
    assert f.evidence["first_use"] is not None and f.evidence["approved_at"] is not None
    assert f.evidence["first_use"] < f.evidence["approved_at"]
    assert approved is not None and f.evidence["approved_at"][:19] == approved[:19]
    assert f.evidence["counts"] == {"requests_before_approval": 1}
    assert f.clause == "2026-01 §5"


def test_use_cases_findings_over_the_admin_api_and_the_cli(
    world: World, corpus: SampleCorpus, server: TestClient, engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    lic = world.org("Eight Apps", [f"declared-{i}" for i in range(2)])
    tokens = dict(lic.tokens)
    for i in range(6):
        world.service.create_app("Eight Apps", f"bare-{i}", "tests")
        tokens[f"bare-{i}"] = world.service.create_key(f"bare-{i}", actor="tests").token
    ids = sorted(corpus.posts)[:2]
    for token in tokens.values():
        _get(server, token, ids)
    _stop(server)
    url = engine.url.render_as_string(hide_password=False)
    app = create_app(load_settings(database_url=url, spool_dir=world.tmp / "spool2"))
    with TestClient(app) as client:
        ran = client.post(
            "/admin/v1/findings/evaluate", headers=ADMIN,
            json={"orgs": ["Eight Apps"], "rules": ["use_case.undeclared"]},
        )  # fmt: skip
        assert ran.status_code == 200, ran.text
        assert ran.json()["data"]["created"] == 6
        again = client.post("/admin/v1/findings/evaluate", headers=ADMIN,
                            json={"orgs": ["Eight Apps"], "rules": ["use_case.undeclared"]})  # fmt: skip  # noqa: E501
        assert again.json()["data"]["created"] == 0 and again.json()["data"]["unchanged"] == 6
        listed = client.get("/admin/v1/findings", headers=ADMIN, params={"org": "Eight Apps"})
        found = listed.json()["data"]
        assert sorted(f["app"] for f in found) == [f"bare-{i}" for i in range(6)]
        one = found[0]["id"]
        shown = client.get(f"/admin/v1/findings/{one}", headers=ADMIN).json()["data"]
        assert shown["rule"] == "use_case.undeclared" and shown["grade"] == "confirmed"
        acked = client.post(
            f"/admin/v1/findings/{one}/ack", headers=ADMIN, json={"reason": "asked"}
        )
        assert acked.json()["data"]["status"] == "acknowledged"
        assert acked.json()["data"]["status_actor"] == "admin-api:ops"
        refused = client.post(f"/admin/v1/findings/{one}/ack", headers=ADMIN, json={"reason": "x"})
        assert refused.status_code == 409
        missing = client.get("/admin/v1/findings/999999", headers=ADMIN)
        assert missing.status_code == 404
        bad = client.get("/admin/v1/findings/abc", headers=ADMIN)
        assert bad.status_code == 400
        no_token = client.get("/admin/v1/findings")
        assert no_token.status_code == 401
    monkeypatch.setenv("TOLLHOUSE_DATABASE_URL", url)
    from tollhouse.settings import get_settings

    get_settings.cache_clear()
    runner = CliRunner()
    listed_cli = runner.invoke(
        cli, ["findings", "list", "--org", "Eight Apps", "--status", "open", "--json"]
    )
    assert listed_cli.exit_code == 0, listed_cli.output
    assert len(json.loads(listed_cli.stdout)) == 5
    dismissed = runner.invoke(
        cli, ["findings", "dismiss", found[1]["id"], "--reason", "internal", "--json"]
    )
    assert dismissed.exit_code == 0 and json.loads(dismissed.stdout)["status"] == "dismissed"
    wrong = runner.invoke(cli, ["findings", "show", "nope"])
    assert wrong.exit_code == 1 and "finding id must be a number" in wrong.output
    get_settings.cache_clear()


def test_a_search_through_the_api_records_its_query_string_for_the_rules(
    world: World, corpus: SampleCorpus, server: TestClient, usage_engine: Engine,
    monkeypatch: pytest.MonkeyPatch, engine: Engine,
) -> None:  # fmt: skip
    lic = world.org("Searcher", ["search-app"])
    auth = {"Authorization": f"Bearer {lic.tokens['search-app']}"}
    found = server.get(
        "/2/tweets/search/recent",
        params={"query": "hello point_radius:[2.3 48.8 5km]"},
        headers=auth,
    )
    looked = server.get(f"/2/tweets/{sorted(corpus.posts)[0]}", headers=auth)
    assert found.status_code in (200, 400) and looked.status_code == 200
    _stop(server)
    import sqlalchemy as sa

    from tollhouse.metering.models import usage_events
    from tollhouse.metering.network import unpack_post_ids

    with usage_engine.connect() as conn:
        rows = {r.endpoint: r for r in conn.execute(sa.select(usage_events))}
    assert "point_radius" in rows["/2/tweets/search/recent"].query_string
    lookup = rows["/2/tweets/:id"]
    assert lookup.query_string is None and lookup.client_network is None  # "testclient"
    assert unpack_post_ids(lookup.post_ids) == [sorted(corpus.posts)[0]]
    # And the CLI evaluates it: the geo operator is a surveillance indicator.
    monkeypatch.setenv("TOLLHOUSE_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    from tollhouse.settings import get_settings

    get_settings.cache_clear()
    try:
        ran = CliRunner().invoke(
            cli,
            [
                "compliance",
                "evaluate",
                "--org",
                "Searcher",
                "--rule",
                "surveillance.indicator",
                "--json",
            ],
        )
    finally:
        get_settings.cache_clear()
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.stdout)["by_rule"] == {"surveillance.indicator": 1}
