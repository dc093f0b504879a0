"""tweepy, unchanged but for where its session connects, against a real Tollhouse server."""

from __future__ import annotations

from datetime import timedelta

import pytest
import tweepy

from tests.e2e.conftest import Served, point_at
from tollhouse.corpus.text import tokenize


@pytest.fixture
def client(served: Served) -> tweepy.Client:
    client = tweepy.Client(bearer_token=served.token)
    point_at(client.session, served.base_url)
    return client


def test_get_tweets_with_author_expansion(served: Served, client: tweepy.Client) -> None:
    corpus = served.corpus
    wanted = corpus.visible_ids()[10:40]
    deleted = next(iter(corpus.hidden_posts))
    response = client.get_tweets(
        [*wanted, deleted],
        expansions=["author_id"],
        tweet_fields=["created_at", "author_id", "public_metrics", "lang"],
        user_fields=["username", "created_at"],
    )
    assert [t.id for t in response.data] == wanted
    first = response.data[0]
    record = corpus.posts[wanted[0]]
    assert first.text == record.text
    assert first.author_id == record.author_id
    millis = record.created_at.microsecond // 1000 * 1000
    assert first.created_at == record.created_at.replace(microsecond=millis)
    assert first.public_metrics["like_count"] == record.like_count
    authors = {u.id: u.username for u in response.includes["users"]}
    assert authors == {
        corpus.posts[i].author_id: corpus.users[corpus.posts[i].author_id].username for i in wanted
    }
    assert [e["resource_id"] for e in response.errors] == [str(deleted)]


def test_search_recent_through_paginator(served: Served, client: tweepy.Client) -> None:
    corpus = served.corpus
    week_ago = corpus.now - timedelta(days=7)
    expected = corpus.visible_ids(
        lambda p: "harbor" in tokenize(p.text) and p.created_at >= week_ago
    )
    assert len(expected) > 250  # several pages of 100
    seen: list[int] = []
    pages = 0
    for page in tweepy.Paginator(
        client.search_recent_tweets,
        "harbor",
        max_results=100,
        expansions=["author_id"],
        tweet_fields=["author_id", "created_at"],
    ):
        pages += 1
        seen += [t.id for t in page.data]
        page_authors = {u.id for u in page.includes["users"]}
        assert {t.author_id for t in page.data} == page_authors
        assert page.meta["result_count"] == len(page.data)
    assert pages == -(-len(expected) // 100)
    assert seen == expected  # complete, newest first, no duplicates


def test_user_timeline_and_lookup(served: Served, client: tweepy.Client) -> None:
    corpus = served.corpus
    user = client.get_user(username="user3", user_fields=["created_at", "public_metrics"]).data
    record = corpus.user_named("user3")
    assert (user.id, user.username, user.name) == (record.id, record.username, record.name)
    assert user.public_metrics["followers_count"] == record.followers_count
    expected = corpus.visible_ids(lambda p: p.author_id == record.id)
    assert len(expected) > 100
    seen = [
        t.id for t in tweepy.Paginator(client.get_users_tweets, record.id, max_results=40).flatten()
    ]
    assert seen == expected
    by_id = client.get_user(id=record.id).data
    assert by_id.username == record.username


def test_bad_request_is_a_tweepy_bad_request(client: tweepy.Client) -> None:
    with pytest.raises(tweepy.BadRequest) as exc:
        client.search_recent_tweets("harbor", max_results=5)
    assert exc.value.api_messages == [
        "The `max_results` query parameter value [5] is not between 10 and 100"
    ]
