"""The posts endpoints against the sample corpus, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.api.conftest import Api
from tollhouse.corpus.text import tokenize

PROBLEMS = "https://api.twitter.com/2/problems/"


def get(api: Api, path: str, **params: Any) -> dict[str, Any]:
    response = api.client.get(path, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def bad(api: Api, path: str, **params: Any) -> str:
    response = api.client.get(path, params=params)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["type"] == PROBLEMS + "invalid-request"
    assert body["title"] == "Invalid Request"
    message: str = body["errors"][0]["message"]
    return message


def has_word(word: str) -> Any:
    return lambda post: word in tokenize(post.text)


def recent(api: Api) -> Any:
    week_ago = api.corpus.now - timedelta(days=7)
    return lambda post: post.created_at >= week_ago


# ---- lookup ----


def test_lookup_keeps_order_and_explains_missing(api: Api) -> None:
    corpus = api.corpus
    visible = corpus.visible_ids()[:3]
    protected_author = next(u for u, s in corpus.hidden_users.items() if s == "protected")
    suspended_author = next(u for u, s in corpus.hidden_users.items() if s == "suspended")
    by_protected = next(p.id for p in corpus.posts.values() if p.author_id == protected_author)
    by_suspended = next(p.id for p in corpus.posts.values() if p.author_id == suspended_author)
    deleted = next(i for i, s in corpus.hidden_posts.items() if s == "deleted")
    withheld = next(i for i, s in corpus.hidden_posts.items() if s == "withheld")
    ids = [visible[2], 42, visible[0], by_protected, deleted, withheld, by_suspended, visible[1]]
    body = get(api, "/2/tweets", ids=",".join(map(str, ids)))
    assert [t["id"] for t in body["data"]] == [str(visible[2]), str(visible[0]), str(visible[1])]
    assert body["data"][0] == {
        "id": str(visible[2]),
        "text": corpus.posts[visible[2]].text,
        "edit_history_tweet_ids": [str(visible[2])],
    }
    kinds = {e["value"]: e["type"].removeprefix(PROBLEMS) for e in body["errors"]}
    assert kinds == {
        "42": "resource-not-found",
        str(deleted): "resource-not-found",
        str(by_protected): "not-authorized-for-resource",
        str(withheld): "resource-unavailable",
        str(by_suspended): "resource-unavailable",
    }
    missing = next(e for e in body["errors"] if e["value"] == "42")
    assert missing == {
        "value": "42",
        "detail": "Could not find tweet with ids: [42].",
        "title": "Not Found Error",
        "resource_type": "tweet",
        "parameter": "ids",
        "resource_id": "42",
        "type": PROBLEMS + "resource-not-found",
    }
    assert sorted(api.delivered() or []) == sorted(visible)


def test_single_lookup_with_fields_and_expansions(api: Api) -> None:
    corpus = api.corpus
    reply = next(
        p
        for p in sorted(corpus.posts.values(), key=lambda p: -p.id)
        if p.replied_to_id
        and corpus.visible(p)
        and corpus.visible(corpus.posts[p.replied_to_id])
        and p.mentions
    )
    body = get(
        api,
        f"/2/tweets/{reply.id}",
        **{
            "tweet.fields": "created_at,author_id,conversation_id,in_reply_to_user_id,"
            "referenced_tweets,lang,public_metrics,entities,possibly_sensitive",
            "user.fields": "created_at,public_metrics,verified,protected,description",
            "expansions": "author_id,referenced_tweets.id,referenced_tweets.id.author_id,"
            "in_reply_to_user_id,entities.mentions.username",
        },
    )
    post = body["data"]
    assert post["id"] == str(reply.id)
    assert post["author_id"] == str(reply.author_id)
    assert post["created_at"] == reply.created_at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert post["conversation_id"] == str(reply.conversation)
    assert post["in_reply_to_user_id"] == str(reply.in_reply_to_user_id)
    assert {"type": "replied_to", "id": str(reply.replied_to_id)} in post["referenced_tweets"]
    assert post["lang"] == reply.lang
    assert post["public_metrics"]["like_count"] == reply.like_count
    assert post["entities"]["mentions"][0]["username"] == reply.mentions[0]
    assert post["possibly_sensitive"] is False
    parent = corpus.posts[reply.replied_to_id]  # type: ignore[index]
    included_tweets = [t["id"] for t in body["includes"]["tweets"]]
    assert str(parent.id) in included_tweets
    user_ids = {u["id"] for u in body["includes"]["users"]}
    mentioned = corpus.user_named(reply.mentions[0])
    expected_users = {reply.author_id, parent.author_id, reply.in_reply_to_user_id}
    if mentioned.id not in corpus.hidden_users or corpus.hidden_users[mentioned.id] == "protected":
        expected_users.add(mentioned.id)
    assert user_ids == {str(u) for u in expected_users}
    author = next(u for u in body["includes"]["users"] if u["id"] == str(reply.author_id))
    record = corpus.users[reply.author_id]
    assert author["username"] == record.username
    assert author["public_metrics"]["followers_count"] == record.followers_count
    assert author["created_at"] == record.created_at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert sorted(api.delivered() or []) == sorted({reply.id, *[int(i) for i in included_tweets]})


def test_single_lookup_missing_is_an_error_object(api: Api) -> None:
    body = get(api, "/2/tweets/7")
    assert "data" not in body
    assert body["errors"][0]["parameter"] == "id"
    assert body["errors"][0]["detail"] == "Could not find tweet with id: [7]."


def test_lookup_bad_input(api: Api) -> None:
    assert "does not match ^[0-9]{1,19}$" in bad(api, "/2/tweets", ids="1,abc")
    assert "[0] is not between 1 and 100" in bad(api, "/2/tweets", ids="")
    assert "[colour] is not one of" in bad(api, "/2/tweets", ids="1", colour="red")
    assert "[nope] is not one of" in bad(api, "/2/tweets", ids="1", **{"tweet.fields": "nope"})
    assert "does not match" in bad(api, "/2/tweets/abc")


# ---- search ----


def page_through(api: Api, path: str, **params: Any) -> list[list[str]]:
    pages: list[list[str]] = []
    token = None
    while True:
        args = dict(params)
        if token:
            args["next_token"] = token
        body = get(api, path, **args)
        ids = [t["id"] for t in body.get("data", [])]
        assert body["meta"]["result_count"] == len(ids)
        if ids:
            assert body["meta"]["newest_id"] == ids[0]
            assert body["meta"]["oldest_id"] == ids[-1]
        pages.append(ids)
        token = body["meta"].get("next_token")
        if not token:
            return pages
        assert len(pages) < 100


def test_recent_search_pages_through_everything_once(api: Api) -> None:
    word = has_word("lantern")
    in_week = recent(api)
    expected = api.corpus.visible_ids(lambda p: word(p) and in_week(p))
    assert len(expected) > 30
    pages = page_through(api, "/2/tweets/search/recent", query="lantern", max_results=10)
    flat = [int(i) for page in pages for i in page]
    assert flat == expected
    assert all(len(page) == 10 for page in pages[:-1])


def test_full_archive_search_sees_old_posts(api: Api) -> None:
    old_start = (api.corpus.now - timedelta(days=25)).strftime("%Y-%m-%dT%H:%M:%SZ")
    word = has_word("archive")
    expected = api.corpus.visible_ids(word)
    body = get(api, "/2/tweets/search/all", query="archive", start_time=old_start)
    assert [int(t["id"]) for t in body["data"]] == expected
    assert len(expected) == 3
    assert "data" not in get(api, "/2/tweets/search/recent", query="archive")


def test_search_hides_hidden_content(api: Api) -> None:
    pages = page_through(api, "/2/tweets/search/recent", query="river OR ember", max_results=100)
    returned = {int(i) for page in pages for i in page}
    hidden = set(api.corpus.hidden_posts) | {
        p.id for p in api.corpus.posts.values() if p.author_id in api.corpus.hidden_users
    }
    assert returned and not returned & hidden


def test_search_operators_and_expansions(api: Api) -> None:
    corpus = api.corpus
    author = corpus.users[1001]
    expected = corpus.visible_ids(lambda p: p.author_id == author.id and recent(api)(p))
    body = get(
        api,
        "/2/tweets/search/recent",
        query=f"from:{author.username}",
        max_results=100,
        expansions="author_id",
        **{"tweet.fields": "author_id"},
    )
    assert [int(t["id"]) for t in body["data"]] == expected
    assert body["includes"]["users"] == [{"id": "1001", "name": "User 1", "username": "user1"}]
    assert api.delivered() == expected


def test_search_time_and_id_bounds(api: Api) -> None:
    in_week = recent(api)
    everything = api.corpus.visible_ids(lambda p: "copper" in tokenize(p.text) and in_week(p))
    newer, older = everything[5], everything[15]
    body = get(
        api,
        "/2/tweets/search/recent",
        query="copper",
        since_id=str(older),
        until_id=str(newer),
        max_results=100,
    )
    assert [int(t["id"]) for t in body["data"]] == everything[6:15]
    posts = api.corpus.posts
    start = posts[older].created_at
    end = posts[newer].created_at
    body = get(
        api,
        "/2/tweets/search/recent",
        query="copper",
        start_time=start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        end_time=end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        max_results=100,
    )
    expected = [i for i in everything if start <= posts[i].created_at < end]
    assert [int(t["id"]) for t in body["data"]] == expected


def test_relevancy_is_accepted_and_orders_by_recency(api: Api) -> None:
    a = get(api, "/2/tweets/search/recent", query="signal", sort_order="relevancy")
    b = get(api, "/2/tweets/search/recent", query="signal", sort_order="recency")
    assert a["data"] == b["data"]


def test_search_bad_input(api: Api) -> None:
    path = "/2/tweets/search/recent"
    assert bad(api, path, query="x", max_results=5) == (
        "The `max_results` query parameter value [5] is not between 10 and 100"
    )
    assert "[501] is not between 10 and 500" in bad(
        api, "/2/tweets/search/all", query="x", max_results=501
    )
    assert "can not be empty" in bad(api, path)
    message = bad(api, path, query='"unclosed')
    assert message.startswith("There were errors processing your request:")
    assert "position" in message
    assert "not a valid pagination token" in bad(api, path, query="x", next_token="zzz")
    assert "Invalid 'start_time'" in bad(api, path, query="x", start_time="2020-01-01T00:00:00Z")
    assert "Invalid 'end_time'" in bad(api, path, query="x", end_time="2999-01-01T00:00:00Z")
    assert "[sideways] is not one of" in bad(api, path, query="x", sort_order="sideways")
    assert "Query is longer" in bad(api, path, query="a " * 5000)


def test_queries_made_only_of_negations_or_conjunction_required_operators_are_refused(
    api: Api,
) -> None:
    everything = (
        "There were errors processing your request: "
        "Rules must contain a non-negation term (at position 1), "
        "Rules must contain at least one positive, non-stopword clause (at position 1)"
    )
    no_standalone = (
        "There were errors processing your request: "
        "Rules must contain at least one positive, non-stopword clause (at position 1)"
    )
    for path in ("/2/tweets/search/recent", "/2/tweets/search/all"):
        assert bad(api, path, query="-is:retweet") == everything
        assert bad(api, path, query="has:links OR is:retweet") == no_standalone
    for path in ("/2/tweets/counts/recent", "/2/tweets/counts/all"):
        assert bad(api, path, query="-a") == everything
        assert bad(api, path, query="meadow OR -zzzz") == no_standalone
    get(api, "/2/tweets/search/recent", query="meadow -zzzz -is:retweet")


# ---- counts ----


def test_counts_match_the_corpus(api: Api) -> None:
    in_week = recent(api)
    expected = api.corpus.visible_ids(lambda p: "meadow" in tokenize(p.text) and in_week(p))
    body = get(api, "/2/tweets/counts/recent", query="meadow", granularity="day")
    assert body["meta"]["total_tweet_count"] == len(expected)
    buckets = body["data"]
    assert 7 <= len(buckets) <= 9
    for earlier, later in itertools.pairwise(buckets):
        assert earlier["end"] == later["start"]
    first = datetime.fromisoformat(buckets[1]["start"].replace("Z", "+00:00"))
    assert (first.hour, first.minute) == (0, 0)
    for bucket in buckets:
        lo = datetime.fromisoformat(bucket["start"].replace("Z", "+00:00"))
        hi = datetime.fromisoformat(bucket["end"].replace("Z", "+00:00"))
        n = sum(1 for i in expected if lo <= api.corpus.posts[i].created_at.astimezone(UTC) < hi)
        assert bucket["tweet_count"] == n, bucket


def test_counts_hourly_and_full_archive(api: Api) -> None:
    hourly = get(api, "/2/tweets/counts/recent", query="lantern")
    assert 168 <= len(hourly["data"]) <= 170
    start = (api.corpus.now - timedelta(days=25)).strftime("%Y-%m-%dT%H:%M:%SZ")
    archive = get(api, "/2/tweets/counts/all", query="archive", start_time=start, granularity="day")
    assert archive["meta"]["total_tweet_count"] == 3
    assert "[week] is not one of" in bad(
        api, "/2/tweets/counts/recent", query="x", granularity="week"
    )
    assert "[max_results] is not one of" in bad(
        api, "/2/tweets/counts/recent", query="x", max_results=10
    )


def test_openapi_documents_the_endpoints(api: Api) -> None:
    doc = api.client.get("/openapi.json").json()
    for path in (
        "/2/tweets",
        "/2/tweets/{id}",
        "/2/tweets/search/recent",
        "/2/tweets/search/all",
        "/2/tweets/counts/recent",
        "/2/tweets/counts/all",
    ):
        operation = doc["paths"][path]["get"]
        assert operation["summary"]
        assert operation["parameters"]
    names = {p["name"] for p in doc["paths"]["/2/tweets/search/recent"]["get"]["parameters"]}
    assert {"query", "max_results", "next_token", "tweet.fields", "expansions"} <= names


def test_a_page_token_is_refused_by_another_endpoint_query_or_timeline(api: Api) -> None:
    """X answers a token from another endpoint or query with 400; so does Tollhouse."""
    first = get(
        api,
        "/2/tweets/search/recent",
        query="lantern",
        max_results=10,
        **{"tweet.fields": "author_id"},
    )
    token = first["meta"]["next_token"]
    assert get(api, "/2/tweets/search/recent", query="lantern", next_token=token)["data"]
    user_id = first["data"][0]["author_id"]
    refusals = [
        ("/2/tweets/search/all", {"query": "lantern", "next_token": token}),
        ("/2/tweets/search/recent", {"query": "lanterns", "next_token": token}),
        ("/2/tweets/search/recent", {"query": "lantern OR x", "pagination_token": token}),
        ("/2/tweets/counts/recent", {"query": "lantern", "next_token": token}),
        (f"/2/users/{user_id}/tweets", {"pagination_token": token}),
        (f"/2/users/{user_id}/mentions", {"pagination_token": token}),
    ]
    for path, params in refusals:
        message = bad(api, path, **params)
        assert "is not a valid pagination token" in message, (path, params)
    # One changed character anywhere is refused too (the tag covers the whole token).
    for position in range(len(token)):
        changed = "A" if token[position] != "A" else "B"
        mangled = token[:position] + changed + token[position + 1 :]
        bad(api, "/2/tweets/search/recent", query="lantern", next_token=mangled)
