"""Content events and holdings through the admin API: the data API hides what the events
remove and shows it again when they are undone; only the operator token opens them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import issue_token
from tests.api.sample_corpus import SampleCorpus, build
from tollhouse.api.app import create_app
from tollhouse.db import create_engine
from tollhouse.settings import load_settings

ADMIN = {"Authorization": "Bearer operator-secret-for-tests", "X-Tollhouse-Actor": "alice"}


@pytest.fixture
def served(database_url: str) -> Iterator[tuple[TestClient, SampleCorpus, str]]:
    engine = create_engine(database_url)
    corpus = build(engine)
    token = issue_token(engine)
    engine.dispose()
    settings = load_settings(database_url=database_url, admin_token="operator-secret-for-tests")
    with TestClient(create_app(settings)) as client:
        yield client, corpus, token


def test_events_keep_the_api_consistent(served: tuple[TestClient, SampleCorpus, str]) -> None:
    client, corpus, token = served
    licensee = {"Authorization": f"Bearer {token}"}
    post = corpus.visible_ids()[0]
    author = corpus.posts[post].author_id

    def visible() -> bool:
        return client.get(f"/2/tweets/{post}", headers=licensee).json().get("data") is not None

    def send(*events: dict[str, object]) -> None:
        answer = client.post("/admin/v1/content/events", headers=ADMIN, json={"events": events})
        assert answer.status_code == 200, answer.text

    assert visible()
    send({"type": "user_protect", "user_id": str(author)})
    assert not visible()
    send({"type": "user_unprotect", "user_id": str(author)})
    assert visible()
    send({"type": "user_suspend", "user_id": str(author)})
    assert not visible()
    send({"type": "user_unsuspend", "user_id": str(author)})
    assert visible()
    send({"type": "user_profile_modification", "user_id": str(author),
          "profile_field": "profile.name", "new_value": "Renamed"})  # fmt: skip
    user = client.get(f"/2/users/{author}", headers=licensee).json()["data"]
    assert user["name"] == "Renamed"
    send({"type": "withheld", "tweet_id": str(post), "withheld_in_countries": ["DE"]})
    assert not visible()
    listed = client.get(
        "/admin/v1/content/events", headers=ADMIN, params={"subject": "user", "id": author}
    ).json()["data"]
    assert [e["event"] for e in listed] == [
        "user_protect", "user_unprotect", "user_suspend", "user_unsuspend",
        "user_profile_modification",
    ]  # fmt: skip
    bad = client.post("/admin/v1/content/events", headers=ADMIN, json={"events": [{"type": "x"}]})
    assert bad.status_code == 400 and "type" in bad.json()["errors"][0]["message"]
    # Licensees never reach the admin API, holdings included.
    assert (
        client.get(
            "/admin/v1/holdings", params={"org": "api-tests-org"}, headers=licensee
        ).status_code
        == 401
    )
    held = client.get("/admin/v1/holdings", params={"org": "api-tests-org"}, headers=ADMIN)
    assert held.status_code == 200, held.text
    assert set(held.json()["data"]) >= {
        "distinct_posts", "distinct_users", "removed_since", "obligations", "by_month",
    }  # fmt: skip
    missing = client.get("/admin/v1/holdings", params={"org": "nobody"}, headers=ADMIN)
    assert missing.status_code == 404
