"""Usage queries: totals and groupings from rollups, organisation boundaries, CLI and admin API."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from tests.api.sample_corpus import build
from tests.metering.factories import DAY0, make_event
from tests.metering.licensees import Licensee, make_licensees
from tollhouse.access.licensee_names import LicenseeNames
from tollhouse.api.app import create_app
from tollhouse.cli.main import app as cli
from tollhouse.errors import NotFound
from tollhouse.metering.event import UsageEvent
from tollhouse.metering.queries import UsageReport
from tollhouse.metering.service import prune_raw_events, usage_report
from tollhouse.metering.sql_store import record_events
from tollhouse.settings import get_settings, load_settings

D1, D3 = DAY0.date(), DAY0.date() + timedelta(days=2)


def _traffic(lic: dict[str, Licensee]) -> list[UsageEvent]:
    rng = random.Random(11)
    acme, rival = lic["acme"], lic["rival"]
    events = []
    for i in range(120):
        app = "acme-a" if i % 3 else "acme-b"
        events.append(
            make_event(
                rng,
                org_id=acme.org_id,
                app_id=acme.apps[app],
                at=DAY0 + timedelta(hours=i % 40),
                status=200 if i % 10 else 429,
                post_ids=tuple(range(i % 7)) if i % 10 else (),
                endpoint="/2/tweets/search/all" if i % 2 else "/2/tweets/:id",
            )
        )
    for i in range(50):
        events.append(
            make_event(
                rng,
                org_id=rival.org_id,
                app_id=rival.apps["rival-x"],
                at=DAY0 + timedelta(hours=i % 30),
                post_ids=tuple(range(1000, 1010)),
            )
        )
    return events


class UsageDb(NamedTuple):
    engine: Engine  # licensees and posts
    usage: Engine  # the usage tables (the same engine on PostgreSQL)
    lic: dict[str, Licensee]
    events: list[UsageEvent]

    def report(self, org: str, start: date, end: date, **kw: Any) -> UsageReport:
        return usage_report(
            self.engine, org, start, end, usage_engine=self.usage, licensees=LicenseeNames(), **kw
        )


@pytest.fixture
def usage_db(engine: Engine, usage_engine: Engine) -> UsageDb:
    build(engine, n_posts=80, n_users=10)  # the corpus whose share a licensee took
    lic = make_licensees(engine, {"acme": ["acme-a", "acme-b"], "rival": ["rival-x"]})
    events = _traffic(lic)
    record_events(usage_engine, events, engine)
    return UsageDb(engine, usage_engine, lic, events)


def test_totals_and_groupings_match_the_events(usage_db: UsageDb) -> None:
    engine, _, lic, events = usage_db
    acme = [e for e in events if e.org_id == lic["acme"].org_id]
    report = usage_db.report("acme", D1, D3, by="app")
    assert report.total.requests == len(acme)
    assert report.total.posts == sum(e.posts for e in acme)
    assert report.total.errors == sum(e.status >= 400 for e in acme)
    assert report.total.bytes == sum(e.bytes for e in acme)
    assert {r.key: r.requests for r in report.rows} == {
        "acme-a": sum(e.app_id == lic["acme"].apps["acme-a"] for e in acme),
        "acme-b": sum(e.app_id == lic["acme"].apps["acme-b"] for e in acme),
    }
    # Post ids 0..5 were delivered; the small sketches are exact.
    assert report.total.distinct_posts is not None
    assert report.total.distinct_posts.estimate == 6
    with engine.connect() as conn:
        corpus = conn.execute(sa.text("SELECT COUNT(*) FROM posts")).scalar_one()
    assert report.corpus_posts == corpus > 0
    assert report.corpus_share is not None and report.corpus_share[0] == 6 / corpus
    by_day = usage_db.report("acme", D1, D3, by="day")
    assert [r.key for r in by_day.rows] == [D1.isoformat(), (D1 + timedelta(days=1)).isoformat()]
    assert sum(r.requests for r in by_day.rows) == len(acme)
    by_endpoint = usage_db.report("acme", D1, D3, by="endpoint")
    assert {r.key for r in by_endpoint.rows} == {"/2/tweets/search/all", "/2/tweets/:id"}
    assert all(r.distinct_posts is None for r in by_endpoint.rows)
    by_hour = usage_db.report("acme", D1, D1 + timedelta(days=1), by="hour")
    assert len(by_hour.rows) == 24
    only_b = usage_db.report("acme", D1, D3, apps=["acme-b"])
    assert only_b.total.requests == sum(e.app_id == lic["acme"].apps["acme-b"] for e in acme)


def test_usage_never_includes_another_organisation(usage_db: UsageDb) -> None:
    rival = usage_db.report("rival", D1, D3, by="app")
    assert [r.key for r in rival.rows] == ["rival-x"]
    assert rival.total.requests == 50
    assert rival.total.distinct_posts is not None and rival.total.distinct_posts.estimate == 10
    # Naming another organisation's app is "not found", as if it did not exist.
    with pytest.raises(NotFound):
        usage_db.report("acme", D1, D3, apps=["rival-x"])
    with pytest.raises(NotFound):
        usage_db.report("nobody", D1, D3)


def test_cli_usage_json_and_csv(usage_db: UsageDb, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = usage_db.engine
    monkeypatch.setenv("TOLLHOUSE_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        args = ["usage", "--org", "rival", "--from", str(D1), "--to", str(D3), "--by", "app"]
        result = runner.invoke(cli, [*args, "--json"])
        assert result.exit_code == 0, result.output
        body = json.loads(result.stdout)
        assert body["total"]["requests"] == 50 and body["rows"][0]["key"] == "rival-x"
        result = runner.invoke(cli, [*args, "--csv"])
        assert result.exit_code == 0, result.output
        lines = result.stdout.strip().splitlines()
        assert lines[0].startswith("key,requests,posts") and lines[-1].startswith("total,50,500")
        result = runner.invoke(cli, ["usage", "--org", "rival", "--by", "week"])
        assert result.exit_code == 1
        result = runner.invoke(cli, [*args[:3], "--from", "yesterday"])
        assert result.exit_code == 1
    finally:
        get_settings.cache_clear()


def test_admin_usage_api(usage_db: UsageDb, tmp_path: Path) -> None:
    engine = usage_db.engine
    url = engine.url.render_as_string(hide_password=False)
    app = create_app(load_settings(database_url=url, spool_dir=tmp_path / "spool"))
    with TestClient(app) as client:
        params = {"org": "acme", "from": str(D1), "to": str(D3), "by": "app"}
        assert client.get("/admin/v1/usage", params=params).status_code == 401
        operator = {"Authorization": "Bearer " + get_settings().admin_token}
        r = client.get("/admin/v1/usage", params=params, headers=operator)
        assert r.status_code == 200
        assert {row["key"] for row in r.json()["rows"]} == {"acme-a", "acme-b"}
        r = client.get("/admin/v1/usage", params={**params, "app": "rival-x"}, headers=operator)
        assert r.status_code == 404 and "rival-x" in r.json()["detail"]
        r = client.get("/admin/v1/usage", params={**params, "by": "week"}, headers=operator)
        assert r.status_code == 400
        r = client.get("/admin/v1/usage", params={**params, "to": str(D1)}, headers=operator)
        assert r.status_code == 400
        r = client.get("/admin/v1/usage", params={**params, "format": "csv"}, headers=operator)
        assert r.status_code == 200 and r.text.startswith("key,requests")


def test_prune_keeps_rollups(usage_db: UsageDb) -> None:
    usage, events = usage_db.usage, usage_db.events
    before = usage_db.report("acme", D1, D3)
    day_after = int((DAY0 + timedelta(days=2)).timestamp() * 1000)
    # Keep one day: everything from DAY0 (the first day) goes, the second day stays.
    deleted = prune_raw_events(usage, 1, now_ms=day_after)
    assert deleted == sum(e.occurred_at < DAY0 + timedelta(days=1) for e in events)
    assert usage_db.report("acme", D1, D3) == before
    assert date(2026, 3, 1) == D1
