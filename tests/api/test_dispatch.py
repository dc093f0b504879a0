"""X API requests are dispatched straight to their handlers (api/dispatch.py): endpoints stay in
the OpenAPI document, answer as before, other methods and paths still get FastAPI's 404/405
Problems — never an answer the edge did not limit or meter — and a failing handler gets a 500
Problem, not a stack trace."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.api.conftest import Api
from tollhouse.endpoints import ENDPOINTS


def _path(template: str) -> str:
    return "/".join("{" + s[1:] + "}" if s.startswith(":") else s for s in template.split("/"))


def test_every_endpoint_stays_documented(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    for endpoint in ENDPOINTS:
        assert endpoint.method.lower() in paths[_path(endpoint.template)], endpoint.label


def test_requests_are_dispatched_to_their_handlers(api: Api) -> None:
    post_id = api.corpus.visible_ids()[0]
    user = api.corpus.users[api.corpus.posts[post_id].author_id]
    for url in (
        f"/2/tweets?ids={post_id}",
        f"/2/tweets/{post_id}",
        "/2/tweets/search/recent?query=the",
        f"/2/users/{user.id}",
        f"/2/users/by/username/{user.username}",
        f"/2/users/{user.id}/tweets",
    ):
        assert api.client.get(url).status_code == 200, url
        assert api.recorder.last is not None
        # Dispatched directly: no FastAPI route ran, so the scope has no "route" of its own.
        assert "route" not in api.recorder.last, url
        assert api.recorder.last["endpoint"].__module__.startswith("tollhouse.api.routes"), url


def test_other_methods_are_refused_as_before(api: Api) -> None:
    post_id = api.corpus.visible_ids()[0]
    user_id = api.corpus.posts[post_id].author_id
    for url in (f"/2/tweets?ids={post_id}", f"/2/tweets/{post_id}", f"/2/users/{user_id}"):
        assert api.client.get(url).status_code == 200, url
        for method in ("HEAD", "POST", "PUT", "DELETE"):
            response = api.client.request(method, url)
            assert response.status_code == 405, (method, url)
            assert "x-rate-limit-remaining" not in response.headers
            if method != "HEAD":
                assert response.json()["title"] == "Method Not Allowed"


def test_paths_no_handler_serves_get_fastapis_answers(api: Api) -> None:
    post_id = api.corpus.visible_ids()[0]
    response = api.client.get("/2/nothing/here")
    assert response.status_code == 404
    assert response.json()["title"] == "Not Found"
    assert "x-request-id" in response.headers  # still passed through metering and the edge
    redirected = api.client.get(f"/2/tweets/{post_id}/", follow_redirects=False)
    assert redirected.status_code == 307
    assert redirected.headers["location"].endswith(f"/2/tweets/{post_id}")


def test_a_failing_handler_answers_a_500_problem(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from tollhouse.corpus import lookups

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    post_id = api.corpus.visible_ids()[0]
    monkeypatch.setattr(lookups, "lookup_posts", broken)
    response = api.client.get(f"/2/tweets/{post_id}")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "disk on fire" not in response.text
    assert any("unhandled error" in r.message for r in caplog.records)


def test_the_pool_holds_a_connection_for_every_corpus_thread(tmp_path: Path) -> None:
    # Past the pool size a returned connection is closed, so an undersized pool would reconnect
    # (cold SQLite page cache, PostgreSQL handshake) on every request under load.
    from tollhouse.api.app import create_app
    from tollhouse.settings import load_settings

    url = f"sqlite:///{tmp_path / 'pool.db'}"
    app = create_app(load_settings(database_url=url, corpus_threads=12, lookup_threads=3))
    state = app.state.tollhouse
    assert state.corpus_executor._max_workers == 12
    assert state.lookup_executor._max_workers == 3
    assert state.engine.pool.size() >= 12 + 3
    for executor in (state.corpus_executor, state.lookup_executor):
        executor.shutdown()
    state.engine.dispose()


def test_lookups_are_answered_while_searches_hold_every_corpus_thread(api: Api) -> None:
    state = api.client.app.app.state.tollhouse  # type: ignore[attr-defined]
    release = threading.Event()
    busy = [
        state.corpus_executor.submit(release.wait, 30)
        for _ in range(state.corpus_executor._max_workers)
    ]
    try:
        post_id = api.corpus.visible_ids()[0]
        user_id = api.corpus.posts[post_id].author_id
        for url in (f"/2/tweets?ids={post_id}", f"/2/tweets/{post_id}", f"/2/users/{user_id}"):
            assert api.client.get(url).status_code == 200, url
        assert not any(f.done() for f in busy)  # the searches' threads were held all along
    finally:
        release.set()
