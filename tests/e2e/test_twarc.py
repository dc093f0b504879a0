"""twarc2, unchanged but for where its session connects, against a real Tollhouse server.

twarc2 asks for every field and expansion X defines; all of them must be accepted."""

from __future__ import annotations

from datetime import timedelta

import pytest
from twarc.client2 import Twarc2
from twarc.expansions import ensure_flattened

from tests.e2e.conftest import Served, point_at
from tollhouse.corpus.text import tokenize


@pytest.fixture
def twarc(served: Served) -> Twarc2:
    client = Twarc2(bearer_token=served.token)
    assert client.client is not None
    point_at(client.client, served.base_url)
    return client


def test_search_recent_pages_everything(served: Served, twarc: Twarc2) -> None:
    corpus = served.corpus
    week_ago = corpus.now - timedelta(days=7)
    expected = corpus.visible_ids(
        lambda p: (
            "violet" in tokenize(p.text)
            and "ember" in tokenize(p.text)
            and p.created_at >= week_ago
        )
    )
    assert len(expected) > 100
    pages = list(twarc.search_recent("violet ember", max_results=50))
    assert len(pages) == -(-len(expected) // 50)
    ids = [int(t["id"]) for page in pages for t in page["data"]]
    assert ids == expected
    flat = ensure_flattened(pages[0])
    assert flat[0]["author"]["username"] == corpus.users[corpus.posts[ids[0]].author_id].username
    assert flat[0]["created_at"].endswith("Z")


def test_tweet_lookup_in_batches(served: Served, twarc: Twarc2) -> None:
    corpus = served.corpus
    wanted = corpus.visible_ids()[:150]
    hidden = list(corpus.hidden_posts)
    pages = list(twarc.tweet_lookup([str(i) for i in [*wanted, *hidden]]))
    assert len(pages) == 2  # twarc sends 100 ids per request
    got = [int(t["id"]) for page in pages for t in page.get("data", [])]
    assert got == wanted
    errors = [e["resource_id"] for page in pages for e in page.get("errors", [])]
    assert set(map(int, errors)) >= set(hidden)
    users = {u["id"] for page in pages for u in page["includes"]["users"]}
    assert {str(corpus.posts[i].author_id) for i in wanted} <= users


def test_timeline(served: Served, twarc: Twarc2) -> None:
    corpus = served.corpus
    record = corpus.user_named("user4")
    expected = corpus.visible_ids(lambda p: p.author_id == record.id)
    pages = list(twarc.timeline(record.username, max_results=30))
    ids = [int(t["id"]) for page in pages for t in page["data"]]
    assert ids == expected
    no_replies = corpus.visible_ids(lambda p: p.author_id == record.id and p.replied_to_id is None)
    pages = list(twarc.timeline(str(record.id), exclude_replies=True))
    assert [int(t["id"]) for page in pages for t in page["data"]] == no_replies


def test_counts_recent(served: Served, twarc: Twarc2) -> None:
    corpus = served.corpus
    week_ago = corpus.now - timedelta(days=7)
    expected = corpus.visible_ids(
        lambda p: "copper" in tokenize(p.text) and p.created_at >= week_ago
    )
    pages = list(twarc.counts_recent("copper", granularity="day"))
    assert len(pages) == 1
    assert pages[0]["meta"]["total_tweet_count"] == len(expected)
    assert sum(bucket["tweet_count"] for bucket in pages[0]["data"]) == len(expected)
