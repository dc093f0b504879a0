"""The users endpoints and timelines against the sample corpus, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api
from tests.api.test_tweets import PROBLEMS, bad, get


def test_users_by_id_and_username(api: Api) -> None:
    corpus = api.corpus
    deleted = next(u for u, s in corpus.hidden_users.items() if s == "deleted")
    suspended = next(u for u, s in corpus.hidden_users.items() if s == "suspended")
    protected = next(u for u, s in corpus.hidden_users.items() if s == "protected")
    body = get(api, "/2/users", ids=f"1002,{deleted},{suspended},{protected},1001,5")
    assert [u["id"] for u in body["data"]] == ["1002", str(protected), "1001"]
    kinds = {e["value"]: e["type"].removeprefix(PROBLEMS) for e in body["errors"]}
    assert kinds == {
        str(deleted): "resource-not-found",
        str(suspended): "resource-unavailable",
        "5": "resource-not-found",
    }
    one = get(
        api,
        "/2/users/1003",
        **{"user.fields": "created_at,description,public_metrics,verified,location,url,protected"},
    )["data"]
    record = corpus.users[1003]
    assert one == {
        "id": "1003",
        "name": record.name,
        "username": record.username,
        "created_at": record.created_at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "description": record.description,
        "public_metrics": {
            "followers_count": record.followers_count,
            "following_count": record.following_count,
            "tweet_count": record.tweet_count,
            "listed_count": 0,
        },
        "verified": False,
        "location": "Berlin",
        "url": "",
        "protected": False,
    }
    by_name = get(api, "/2/users/by/username/ALICE_0")["data"]
    assert by_name == {"id": "1000", "name": "User 0", "username": "Alice_0"}
    many = get(api, "/2/users/by", usernames="user2,nobody_here,alice_0")
    assert [u["username"] for u in many["data"]] == ["user2", "Alice_0"]
    assert many["errors"][0]["detail"] == "Could not find user with usernames: [nobody_here]."
    missing = get(api, "/2/users/by/username/nobody_here")
    assert "data" not in missing and missing["errors"][0]["parameter"] == "username"
    assert "does not match" in bad(api, "/2/users/by", usernames="bad-name")
    assert "[author_id] is not one of" in bad(api, "/2/users/1001", expansions="author_id")
    # twarc's user lookups ask for pinned tweets; nothing to return, nothing to refuse.
    assert get(api, "/2/users/1001", expansions="pinned_tweet_id")["data"]["id"] == "1001"


def timeline_pages(api: Api, path: str, **params: Any) -> tuple[list[int], list[dict[str, Any]]]:
    metas: list[dict[str, Any]] = []
    ids: list[int] = []
    token = None
    while True:
        args = dict(params)
        if token:
            args["pagination_token"] = token
        body = get(api, path, **args)
        ids += [int(t["id"]) for t in body.get("data", [])]
        metas.append(body["meta"])
        token = body["meta"].get("next_token")
        if not token:
            return ids, metas


def test_user_timeline_pages_forward_and_back(api: Api) -> None:
    corpus = api.corpus
    expected = corpus.visible_ids(lambda p: p.author_id == 1002)
    ids, metas = timeline_pages(api, "/2/users/1002/tweets", max_results=5)
    assert ids == expected
    assert "previous_token" not in metas[0]
    assert all("previous_token" in m for m in metas[1:])
    # previous_token of page 3 leads back to page 2.
    body = get(
        api, "/2/users/1002/tweets", max_results=5, pagination_token=metas[2]["previous_token"]
    )
    assert [int(t["id"]) for t in body["data"]] == expected[5:10]
    assert body["meta"]["next_token"] == metas[1]["next_token"]
    assert "previous_token" in body["meta"]
    first = get(
        api, "/2/users/1002/tweets", max_results=5, pagination_token=body["meta"]["previous_token"]
    )
    assert [int(t["id"]) for t in first["data"]] == expected[:5]
    assert "previous_token" not in first["meta"]


def test_timeline_exclude_and_bounds(api: Api) -> None:
    corpus = api.corpus
    author = 1005
    expected = corpus.visible_ids(
        lambda p: p.author_id == author and p.replied_to_id is None and p.retweeted_id is None
    )
    ids, _ = timeline_pages(
        api, f"/2/users/{author}/tweets", exclude="replies,retweets", max_results=100
    )
    assert ids == expected
    everything = corpus.visible_ids(lambda p: p.author_id == author)
    body = get(api, f"/2/users/{author}/tweets", since_id=str(everything[4]), max_results=100)
    assert [int(t["id"]) for t in body["data"]] == everything[:4]
    assert "[101] is not between 5 and 100" in bad(
        api, f"/2/users/{author}/tweets", max_results=101
    )
    assert "[4] is not between 5 and 100" in bad(api, f"/2/users/{author}/tweets", max_results=4)
    assert "[exclude] is not one of" in bad(api, f"/2/users/{author}/mentions", exclude="replies")


def test_mentions_timeline(api: Api) -> None:
    corpus = api.corpus
    user = corpus.users[1001]
    expected = corpus.visible_ids(lambda p: user.username in p.mentions)
    assert expected
    ids, _ = timeline_pages(api, "/2/users/1001/mentions", max_results=7, expansions="author_id")
    assert ids == expected
    assert api.delivered() is not None


def test_timelines_of_hidden_users_are_errors(api: Api) -> None:
    corpus = api.corpus
    protected = next(u for u, s in corpus.hidden_users.items() if s == "protected")
    suspended = next(u for u, s in corpus.hidden_users.items() if s == "suspended")
    body = get(api, f"/2/users/{protected}/tweets")
    assert "data" not in body
    assert body["errors"][0]["type"] == PROBLEMS + "not-authorized-for-resource"
    body = get(api, f"/2/users/{suspended}/tweets")
    assert body["errors"][0]["type"] == PROBLEMS + "resource-unavailable"
    body = get(api, "/2/users/77/mentions")
    assert body["errors"][0]["type"] == PROBLEMS + "resource-not-found"
    assert api.delivered() == []
