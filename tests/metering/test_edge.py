"""The metering step at the edge, through the real app: request ids, events for answered and
refused requests, end users matched against declared ones."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.api.sample_corpus import build
from tests.metering.licensees import make_licensees
from tollhouse.access.service import AccessService
from tollhouse.api.app import create_app
from tollhouse.metering.ids import uuid7_unix_ms
from tollhouse.metering.models import usage_events
from tollhouse.settings import load_settings


def _events(engine: Engine) -> dict[str, sa.Row[tuple[object, ...]]]:
    with engine.connect() as conn:
        return {r.request_id: r for r in conn.execute(sa.select(usage_events))}


def test_every_metered_request_is_recorded_with_its_request_id(
    engine: Engine, usage_engine: Engine, tmp_path: Path
) -> None:
    corpus = build(engine, n_posts=80, n_users=10)
    lic = make_licensees(engine, {"acme": ["acme-app"]})["acme"]
    access = AccessService(engine)
    # Approved: the agreement's government_use (declared_and_approved) refuses it otherwise.
    council = access.add_end_user("acme", "City Council", "government", "GB", actor="t")
    access.approve_end_user(council.id, actor="t")
    url = engine.url.render_as_string(hide_password=False)
    app = create_app(load_settings(database_url=url, spool_dir=tmp_path / "spool"))
    ids = sorted(corpus.posts)[:3]
    auth = {"Authorization": "Bearer " + lic.tokens["acme-app"]}
    with TestClient(app) as client:
        ok = client.get(
            "/2/tweets",
            params={"ids": ",".join(map(str, ids))},
            headers={**auth, "X-End-User": "City Council", "User-Agent": "tests/1"},
        )
        unknown_user = client.get(
            f"/2/tweets/{ids[0]}", headers={**auth, "X-End-User": "Somebody Else"}
        )
        refused = client.get("/2/tweets", params={"ids": "1"}, headers={"Authorization": "x"})
        not_metered = client.get("/2/usage/tweets", headers=auth)
    # The app's shutdown drained the writer into the store.
    events = _events(usage_engine)
    assert ok.status_code == 200 and refused.status_code == 401
    for response in (ok, unknown_user, refused, not_metered):
        rid = response.headers["x-request-id"]
        assert (
            rid[14] == "7"
            and abs(uuid7_unix_ms(rid) / 1000 - corpus.now.timestamp()) < 86400 * 3650
        )
    assert set(events) == {
        ok.headers["x-request-id"],
        unknown_user.headers["x-request-id"],
        refused.headers["x-request-id"],
    }
    e = events[ok.headers["x-request-id"]]
    assert (e.org_id, e.app_id, e.endpoint, e.method, e.status) == (
        lic.org_id,
        lic.apps["acme-app"],
        "/2/tweets",
        "GET",
        200,
    )
    assert e.posts == len(ok.json()["data"]) and e.bytes == len(ok.content)
    assert e.key_id is not None and e.user_agent == "tests/1"
    assert e.end_user == "City Council" and e.end_user_id is not None
    u = events[unknown_user.headers["x-request-id"]]
    assert u.end_user == "Somebody Else" and u.end_user_id is None
    assert u.endpoint == "/2/tweets/:id"
    r = events[refused.headers["x-request-id"]]
    assert (r.org_id, r.app_id, r.key_id, r.status, r.posts) == (None, None, None, 401, 0)


def test_metering_off_records_nothing_but_still_identifies_requests(
    engine: Engine, usage_engine: Engine, tmp_path: Path
) -> None:
    url = engine.url.render_as_string(hide_password=False)
    settings = load_settings(database_url=url, spool_dir=tmp_path / "spool", metering_mode="off")
    with TestClient(create_app(settings)) as client:
        response = client.get("/2/tweets", params={"ids": "1"})
    assert response.status_code == 401 and "x-request-id" in response.headers
    assert _events(usage_engine) == {}
    assert not (tmp_path / "spool").exists()


def test_strict_mode_answers_503_when_the_spool_cannot_be_written(
    engine: Engine, tmp_path: Path
) -> None:
    """Nothing leaves without its record: a broken spool turns answers into 503s."""
    lic = make_licensees(engine, {"acme": ["acme-app"]})["acme"]
    url = engine.url.render_as_string(hide_password=False)
    app = create_app(load_settings(database_url=url, spool_dir=tmp_path / "spool"))
    auth = {"Authorization": "Bearer " + lic.tokens["acme-app"]}
    with TestClient(app) as client:
        assert client.get("/2/tweets", params={"ids": "1"}, headers=auth).status_code == 200
        writer = app.state.tollhouse.usage_writer
        os.close(writer._spool._fd)  # the disk goes away under the spool
        refused = [client.get("/2/tweets", params={"ids": "1"}, headers=auth) for _ in range(2)]
    assert [r.status_code for r in refused] == [503, 503]
    assert all("x-request-id" in r.headers for r in refused)
    assert refused[0].headers["content-type"] == "application/problem+json"


def test_new_posts_are_those_the_cap_counted_after_the_daily_dedupe(
    engine: Engine, usage_engine: Engine, tmp_path: Path
) -> None:
    corpus = build(engine, n_posts=80, n_users=10)
    lic = make_licensees(engine, {"acme": ["acme-app"]}, monthly_post_cap=10_000)["acme"]
    url = engine.url.render_as_string(hide_password=False)
    app = create_app(load_settings(database_url=url, spool_dir=tmp_path / "spool"))
    visible = sorted(corpus.visible_ids())
    first, second = visible[:3], visible[2:5]
    auth = {"Authorization": "Bearer " + lic.tokens["acme-app"]}
    with TestClient(app) as client:
        a = client.get("/2/tweets", params={"ids": ",".join(map(str, first))}, headers=auth)
        b = client.get("/2/tweets", params={"ids": ",".join(map(str, second))}, headers=auth)
    events = _events(usage_engine)
    ea, eb = events[a.headers["x-request-id"]], events[b.headers["x-request-id"]]
    assert (ea.posts, ea.new_posts) == (3, 3)
    # One of the second request's posts was already delivered today: it counts once.
    assert (eb.posts, eb.new_posts) == (3, 2)


def test_an_accepted_stream_connection_is_recorded_without_the_bytes_its_intervals_carry(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    # Streams record one event per usage interval with that interval's posts and bytes
    # (api/stream_meter.py); the connection's own event must not count those bytes again.
    from starlette.applications import Starlette
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    from tollhouse.api.middleware.metering import MeteringMiddleware
    from tollhouse.metering.recorder import UsageRecorder

    async def lines() -> AsyncIterator[bytes]:
        for i in range(3):
            yield b'{"data":{"id":"%d"}}\r\n' % i

    async def stream(_request: object) -> StreamingResponse:
        return StreamingResponse(lines(), media_type="application/json")

    async def refused(_request: object) -> StreamingResponse:
        return StreamingResponse(iter([b'{"title":"ConnectionException"}']), status_code=429)

    inner = Starlette(
        routes=[
            Route("/2/tweets/sample/stream", stream),
            Route("/2/tweets/search/stream", refused),
        ]
    )
    writer = UsageRecorder(sqlite_engine, tmp_path / "spool", mode="fast")
    writer.start()
    with TestClient(MeteringMiddleware(inner, writer)) as client:
        ok = client.get("/2/tweets/sample/stream")
        no = client.get("/2/tweets/search/stream")
    writer.stop()
    events = _events(sqlite_engine)
    assert ok.status_code == 200 and len(ok.content) > 0 and no.status_code == 429
    assert events[ok.headers["x-request-id"]].bytes == 0
    assert events[no.headers["x-request-id"]].bytes == len(no.content)
