"""`POST /admin/v1/posts` refuses posts that cannot be true, storing nothing of the request."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tollhouse.api.app import create_app
from tollhouse.corpus.ids import snowflake
from tollhouse.corpus.models import posts
from tollhouse.settings import load_settings

ADMIN = {"Authorization": "Bearer operator-secret-for-ingest-tests"}
NOW = datetime.now(UTC).replace(microsecond=0)
ALICE = {"id": "101", "username": "alice", "name": "Alice"}


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    settings = load_settings(database_url=database_url, admin_token=ADMIN["Authorization"][7:])
    with TestClient(create_app(settings)) as client:
        yield client


def post(created_at: datetime | str, *, author: str = "101", at: datetime = NOW) -> dict[str, Any]:
    stamp = created_at if isinstance(created_at, str) else created_at.isoformat()
    return {"id": str(snowflake(at)), "text": "hello", "author_id": author, "created_at": stamp}


def ingest(client: TestClient, data: list[dict[str, Any]], users: list[Any]) -> Any:
    body = {"data": data, "includes": {"users": users}}
    return client.post("/admin/v1/posts", json=body, headers=ADMIN)


def refused(client: TestClient, data: list[dict[str, Any]], users: list[Any]) -> str:
    response = ingest(client, data, users)
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["type"] == "https://api.twitter.com/2/problems/invalid-request"
    message: str = problem["errors"][0]["message"]
    assert message.startswith("Nothing was stored: ")
    return message


@pytest.mark.parametrize(
    ("created_at", "reason"),
    [
        ("0001-01-01T00:00:00Z", "before X began (2006-03-21T00:00:00Z)"),
        ("9999-12-31T23:59:59Z", "in the future"),
        (NOW + timedelta(days=2), "in the future"),
        (NOW - timedelta(days=400), "but its id encodes"),
        (NOW - timedelta(seconds=61), "(more than 60 s apart)"),
    ],
)
def test_an_implausible_created_at_is_refused_with_its_reason(
    client: TestClient, created_at: datetime | str, reason: str
) -> None:
    assert reason in refused(client, [post(created_at)], [ALICE])


def test_created_at_out_of_range_is_refused_not_a_server_error(client: TestClient) -> None:
    response = ingest(client, [post("0001-01-01T00:00:00+01:00")], [ALICE])
    assert response.status_code == 400 and "out of range" in response.text


def test_an_author_that_is_not_a_known_user_is_refused(
    client: TestClient, database_url: str
) -> None:
    good = post(NOW)
    stray = post(NOW, author="999", at=NOW + timedelta(milliseconds=1))
    message = refused(client, [good, stray], [ALICE])
    assert f"post {stray['id']} has author_id 999, which is not a known user" in message
    assert str(good["id"]) not in message
    engine = client.app.state.tollhouse.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(posts)).scalar_one() == 0


def test_plausible_posts_by_known_users_are_stored(client: TestClient) -> None:
    first = post(NOW - timedelta(seconds=30), at=NOW)
    assert ingest(client, [first], [ALICE]).json()["data"]["published"] == 1
    # Alice is known now, so her next post needs no `includes.users`.
    later = post(NOW, at=NOW + timedelta(milliseconds=1))
    assert ingest(client, [later], []).json()["data"]["published"] == 1
