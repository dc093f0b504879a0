"""Request bodies are capped per route (413, X's Problem shape) before they are read whole."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from tollhouse.access.service import AccessService, onboard
from tollhouse.api.app import create_app
from tollhouse.settings import load_settings

ADMIN = {"Authorization": "Bearer operator-secret-for-body-limit-tests"}
CAPS = {"/2/tweets/search/stream/rules": 4096, "/admin/v1/posts": 8192}


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    settings = load_settings(
        database_url=database_url,
        admin_token=ADMIN["Authorization"][7:],
        max_body_bytes=2048,
        max_body_bytes_by_route=CAPS,
    )
    with TestClient(create_app(settings)) as client:
        yield client


def too_large(response: Response, cap: int) -> None:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "title": "Payload Too Large",
        "type": "about:blank",
        "status": 413,
        "detail": f"The request body is larger than {cap} bytes, the most this endpoint accepts.",
    }


def chunks(total: int, size: int = 1000) -> Iterator[bytes]:
    """A body sent without Content-Length (chunked), as a client streaming it would."""
    for start in range(0, total, size):
        yield b" " * min(size, total - start)


def test_a_declared_length_past_the_cap_is_refused_before_the_body_is_read(
    client: TestClient,
) -> None:
    rules = "/2/tweets/search/stream/rules"
    too_large(client.post(rules, content=b" " * 4097, headers={"Authorization": "Bearer x"}), 4096)
    too_large(client.post("/admin/v1/orgs", content=b" " * 2049, headers=ADMIN), 2048)
    too_large(client.post("/admin/v1/posts", content=b" " * 8193, headers=ADMIN), 8192)


def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_cap(client: TestClient) -> None:
    rules = "/2/tweets/search/stream/rules"
    engine = client.app.state.tollhouse.engine  # type: ignore[attr-defined]
    made = onboard(AccessService(engine), "Acme", "pro", ["acme-rules"], actor="tests")
    # A licensee's handler reads the body (a bad key is refused before anything is read).
    auth = {"Authorization": f"Bearer {made.keys[0].token}"}
    too_large(client.post(rules, content=chunks(5000), headers=auth), 4096)
    too_large(client.post("/admin/v1/orgs", content=chunks(3000), headers=ADMIN), 2048)
    too_large(client.post("/admin/v1/posts", content=chunks(9000), headers=ADMIN), 8192)


def test_bodies_within_their_route_cap_reach_the_handler(client: TestClient) -> None:
    # Within the caps: the handlers answer (a bad key, bad JSON), not the cap.
    rules = client.post(
        "/2/tweets/search/stream/rules", content=b" " * 4000, headers={"Authorization": "Bearer x"}
    )
    assert rules.status_code == 401
    posts = client.post("/admin/v1/posts", content=b"x" * 8000, headers=ADMIN)
    assert posts.status_code == 400
    orgs = client.post("/admin/v1/orgs", content=chunks(2000), headers=ADMIN)
    assert orgs.status_code == 400


def test_the_shipped_caps_fit_what_each_route_may_be_sent() -> None:
    settings = load_settings()
    assert settings.max_body_bytes == 1 << 20
    assert settings.max_body_bytes_by_route["/admin/v1/posts"] == 64 << 20
    assert settings.max_body_bytes_by_route["/2/tweets/search/stream/rules"] == 4 << 20
