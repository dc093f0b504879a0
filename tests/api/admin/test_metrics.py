"""`GET /admin/v1/metrics`: the limits backend's failures and strict metering's costs show up as
counters, operator only."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.api.sample_corpus import build
from tests.metering.licensees import make_licensees
from tollhouse.api.app import create_app
from tollhouse.settings import Settings, load_settings


def _licensed_app(
    engine: Engine, tmp_path: Path, **overrides: object
) -> tuple[list[int], str, Settings]:
    """A small corpus, one licensee's token, and settings on `engine` with `overrides`."""
    corpus = build(engine, n_posts=80, n_users=10)
    token = make_licensees(engine, {"acme": ["reader"]})["acme"].tokens["reader"]
    settings = load_settings(
        database_url=engine.url.render_as_string(hide_password=False),
        spool_dir=tmp_path / "spool",
        **overrides,
    )
    return corpus.visible_ids(), token, settings


def test_a_failing_limits_backend_is_counted_per_policy(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    ids, token, settings = _licensed_app(
        sqlite_engine,
        tmp_path,
        limits_url="redis://127.0.0.1:1/0",  # nothing listens there
        limits_failure_policy="fail_open",
        limits_timeout_ms=200,
    )
    post_id = ids[0]
    with TestClient(create_app(settings)) as client:
        served = client.get(f"/2/tweets/{post_id}", headers={"Authorization": f"Bearer {token}"})
        licensee = client.get("/admin/v1/metrics", headers={"Authorization": f"Bearer {token}"})
        metrics = client.get(
            "/admin/v1/metrics", headers={"Authorization": f"Bearer {settings.admin_token}"}
        )
    assert served.status_code == 200  # fail_open serves unchecked…
    assert licensee.status_code == 401  # …a licensee key never reads operator data…
    limits = metrics.json()["limits"]
    # …and the operator sees that it happened.
    assert (limits["backend"], limits["failure_policy"]) == ("redis", "fail_open")
    assert limits["failed_open"] >= 1 and limits["backend_failures"] >= limits["failed_open"]
    assert limits["failed_closed"] == 0


def test_strict_metering_reports_its_group_commits_and_how_long_responses_waited(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    visible, token, settings = _licensed_app(sqlite_engine, tmp_path, metering_mode="strict")
    operator = {"Authorization": f"Bearer {settings.admin_token}"}
    ids = visible[:3]
    with TestClient(create_app(settings)) as client:
        before = client.get("/admin/v1/metrics", headers=operator).json()["metering"]
        for post_id in ids:
            served = client.get(
                f"/2/tweets/{post_id}", headers={"Authorization": f"Bearer {token}"}
            )
            assert served.status_code == 200
        after = client.get("/admin/v1/metrics", headers=operator).json()["metering"]
    assert before["acknowledgement_ms"]["count"] == 0 and before["events_spooled"] == 0
    assert after["mode"] == "strict"
    # One event per lookup, each answered only after its durable write: three acknowledgements,
    # three events spooled, in one to three group commits (requests one after another).
    assert after["acknowledgement_ms"]["count"] == len(ids)
    assert after["events_spooled"] == len(ids)
    assert 1 <= after["group_commits"] <= len(ids)
    writes = after["durable_write_ms"]
    assert writes["count"] == after["group_commits"]
    assert writes["buckets"]["+Inf"] == writes["count"] and writes["sum_ms"] > 0
    # Waiting for a write takes at least as long as the write itself.
    assert after["acknowledgement_ms"]["sum_ms"] >= writes["sum_ms"] * 0.5
