"""The edge pipeline through the real app: each refusal path, the context, and no database work
on the hot path (counted with a SQLAlchemy cursor listener on the app's own engine)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.waiting import wait_until
from tollhouse.access.service import AccessService, onboard
from tollhouse.api.app import create_app
from tollhouse.api.edge import directory_for
from tollhouse.api.scope import CONTEXT_KEY
from tollhouse.settings import load_settings

CONTEXT_PATH = "/2/_edge_test/context"


@dataclass
class Edge:
    client: TestClient
    app: FastAPI
    service: AccessService
    token: str
    key_id: str
    statements: list[str]

    def get(self, path: str, token: str | None = None, **headers: str) -> Any:
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.client.get(path, headers=headers)

    def settle(self) -> None:
        """Changes made through `service` in this process flush the cache at once; this makes
        sure by asking the watcher to look now rather than waiting for its next poll."""
        directory_for(self.app).flush()


@pytest.fixture
def edge(database_url: str) -> Iterator[Edge]:
    app = create_app(load_settings(database_url=database_url))

    @app.get(CONTEXT_PATH)
    def context(request: Request) -> dict[str, Any]:
        ctx = request.scope[CONTEXT_KEY]
        return {
            "org_name": ctx.org_name,
            "app_name": ctx.app_name,
            "key_id": ctx.key_id,
            "plan": ctx.plan.name,
            "billing_day": ctx.billing_day,
        }

    engine: Engine = app.state.tollhouse.engine
    statements: list[str] = []
    sa.event.listen(
        engine, "before_cursor_execute", lambda _c, _cur, stmt, *_: statements.append(stmt)
    )
    service = AccessService(engine)
    done = onboard(service, "Acme", "basic", ["acme-app"])
    with TestClient(app) as client:
        yield Edge(client, app, service, done.keys[0].token, done.keys[0].id, statements)


def test_context_is_in_the_scope(edge: Edge) -> None:
    response = edge.get(CONTEXT_PATH, edge.token)
    assert response.status_code == 200
    assert response.json() == {
        "org_name": "Acme",
        "app_name": "acme-app",
        "key_id": edge.key_id,
        "plan": "basic",
        "billing_day": 1,
    }


def test_the_hot_path_makes_no_database_call(edge: Edge) -> None:
    assert edge.get(CONTEXT_PATH, edge.token).status_code == 200  # loads the key once
    edge.statements.clear()
    for _ in range(5):
        assert edge.get(CONTEXT_PATH, edge.token).status_code == 200
    # Only the change watcher's version poll may have run meanwhile.
    assert [s for s in edge.statements if "access_version" not in s] == []


UNAUTHORIZED = {
    "title": "Unauthorized",
    "type": "about:blank",
    "status": 401,
    "detail": "Unauthorized",
}


def test_missing_malformed_and_mistyped_tokens_get_401_without_a_lookup(edge: Edge) -> None:
    mistyped = edge.token[:-8] + ("A" if edge.token[-8] != "A" else "B") + edge.token[-7:]
    cases: list[dict[str, str | bytes]] = [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": f"Bearer {mistyped}"},
        {"Authorization": f"Bearer {edge.token}x"},
        {"Authorization": b"Bearer th_live_" + "é".encode() * 24},
    ]
    for headers in cases:
        edge.statements.clear()
        response = edge.client.get(CONTEXT_PATH, headers=headers)
        assert response.status_code == 401, headers
        assert response.json() == UNAUTHORIZED
        assert [s for s in edge.statements if "access_version" not in s] == [], headers


def test_unknown_well_formed_token_gets_401(edge: Edge) -> None:
    from tollhouse.access.keys import new_token

    stranger = new_token().token
    assert edge.get(CONTEXT_PATH, stranger).status_code == 401
    # A wrong secret behind a real key id, with a valid checksum, is refused by the hash compare.
    from tollhouse.access.keys import CHECKSUM_LENGTH, checksum

    body = edge.token[: -CHECKSUM_LENGTH - 1] + ("a" if edge.token[-7] != "a" else "b")
    forged = body + checksum(body)
    assert forged != edge.token
    assert edge.get(CONTEXT_PATH, forged).json() == UNAUTHORIZED


def test_revoked_key_gets_401(edge: Edge) -> None:
    assert edge.get(CONTEXT_PATH, edge.token).status_code == 200
    edge.service.revoke_key(edge.key_id, "op")
    edge.settle()
    assert edge.get(CONTEXT_PATH, edge.token).status_code == 401


def forbidden(response: Any, reason: str) -> dict[str, Any]:
    assert response.status_code == 403
    body: dict[str, Any] = response.json()
    assert body["type"] == "https://api.twitter.com/2/problems/client-forbidden"
    assert body["title"] == "Client Forbidden"
    assert body["reason"] == reason
    return body


def test_suspended_and_terminated_organisations_get_403(edge: Edge) -> None:
    edge.service.suspend_org("Acme", "unpaid", "op")
    edge.settle()
    forbidden(edge.get(CONTEXT_PATH, edge.token), "client-suspended")
    edge.service.resume_org("Acme", "op")
    edge.settle()
    assert edge.get(CONTEXT_PATH, edge.token).status_code == 200
    edge.service.terminate_org("Acme", "breach", "op")
    edge.settle()
    forbidden(edge.get(CONTEXT_PATH, edge.token), "client-terminated")


def test_suspended_app_gets_403(edge: Edge) -> None:
    edge.service.suspend_app("acme-app", "op")
    edge.settle()
    body = forbidden(edge.get(CONTEXT_PATH, edge.token), "client-suspended")
    assert "app" in body["detail"]


def test_agreement_not_accepted_gets_403(edge: Edge) -> None:
    from tollhouse.access.agreements import AgreementDraft, default_agreement

    edge.service.publish_agreement(
        AgreementDraft("v-next", "new terms", default_agreement().terms), "op"
    )
    edge.settle()
    forbidden(edge.get(CONTEXT_PATH, edge.token), "agreement-not-accepted")
    edge.service.accept_agreement("Acme", "Jane", "op")
    edge.settle()
    assert edge.get(CONTEXT_PATH, edge.token).status_code == 200


def test_endpoint_outside_the_plan_gets_403_client_not_enrolled(edge: Edge) -> None:
    # Basic has recent search but neither full-archive search nor the filtered stream.
    for path in ("/2/tweets/search/all?query=x", "/2/tweets/search/stream"):
        body = forbidden(edge.get(path, edge.token), "client-not-enrolled")
        assert "basic" in body["detail"]
    edge.service.set_org_plan("Acme", "pro", "op")
    edge.settle()
    assert edge.get("/2/tweets/search/all?query=x", edge.token).status_code != 403


def test_rotated_key_works_during_grace_and_stops_after(edge: Edge) -> None:
    rotated = edge.service.rotate_key(edge.key_id, "op", grace=timedelta(seconds=1))
    edge.settle()
    assert edge.get(CONTEXT_PATH, edge.token).status_code == 200
    assert edge.get(CONTEXT_PATH, rotated.token).json()["key_id"] == rotated.id
    # Past the grace period the old token stops: the cached entry's expiry is checked per request.
    wait_until(
        lambda: edge.get(CONTEXT_PATH, edge.token).status_code == 401,
        "the rotated-out token stops after its grace period",
    )
    assert edge.get(CONTEXT_PATH, rotated.token).status_code == 200


def test_changes_from_another_process_are_seen_through_the_version_row(
    edge: Edge, database_url: str
) -> None:
    """A second engine stands in for another process: no in-process flush, only the watcher."""
    from tollhouse.db import create_engine

    assert edge.get(CONTEXT_PATH, edge.token).status_code == 200
    other = create_engine(database_url)
    try:
        AccessService(other).suspend_org("Acme", "from elsewhere", "op")
    finally:
        other.dispose()
    deadline = time.monotonic() + 5
    while edge.get(CONTEXT_PATH, edge.token).status_code == 200:
        assert time.monotonic() < deadline, "the change was never noticed"
        time.sleep(0.05)
    forbidden(edge.get(CONTEXT_PATH, edge.token), "client-suspended")


def test_refusals_carry_no_secret(edge: Edge) -> None:
    edge.service.suspend_org("Acme", "unpaid", "op")
    edge.settle()
    response = edge.get(CONTEXT_PATH, edge.token)
    assert edge.token not in response.text and edge.key_id not in response.text


def test_non_api_paths_need_no_key(edge: Edge) -> None:
    assert edge.client.get("/healthz").status_code == 200
