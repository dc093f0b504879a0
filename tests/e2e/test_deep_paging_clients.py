"""tweepy and twarc2, unchanged, paging counts over months and timelines to X's depth limit.

Counts: X's full-archive counts answer 31 days per page, newest page first; tweepy's Paginator
follows meta.next_token with `next_token`, and twarc2 also checks that the last page starts at
`start_time` (it restarts the count otherwise), so both must see exactly X's page order.
Timelines: X serves a user's 3,200 newest posts and 800 newest mentions; both clients must stop
there."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import tweepy
from twarc.client2 import Twarc2

from tests.api.sample_corpus import add_depth
from tests.backends import SQL_BACKENDS
from tests.e2e.conftest import Served, point_at, serving
from tollhouse.corpus.records import UserRecord


@pytest.fixture(scope="module", params=SQL_BACKENDS)
def deep(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Served, UserRecord, UserRecord]]:
    users: list[UserRecord] = []

    def extend(engine: Any, corpus: Any) -> None:
        users.extend(add_depth(engine, corpus))

    with serving(request.param, tmp_path_factory, extend) as running:
        yield running, users[0], users[1]


@pytest.fixture
def client(deep: tuple[Served, UserRecord, UserRecord]) -> tweepy.Client:
    client = tweepy.Client(bearer_token=deep[0].token)
    point_at(client.session, deep[0].base_url)
    return client


@pytest.fixture
def twarc(deep: tuple[Served, UserRecord, UserRecord]) -> Twarc2:
    client = Twarc2(bearer_token=deep[0].token)
    assert client.client is not None
    point_at(client.client, deep[0].base_url)
    return client


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def page_sizes(start: datetime, end: datetime, bucket: timedelta, per_page: int) -> list[int]:
    """X's page sizes, newest page first, for the buckets aligned to `bucket` that
    [start, end) touches."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    n = (end - epoch - timedelta(microseconds=1)) // bucket - (start - epoch) // bucket + 1
    full, rest = divmod(n, per_page)
    return [per_page] * full + ([rest] if rest else [])


def check_counts(
    served: Served, pages: list[dict[str, Any]], start: datetime, end: datetime
) -> None:
    """The pages (newest first) hold contiguous buckets from start to end with the corpus's
    counts of `almanac` posts."""
    buckets = [bucket for page in reversed(pages) for bucket in page["data"]]
    assert parse(buckets[0]["start"]) == start
    assert parse(buckets[-1]["end"]) == end
    for earlier, later in itertools.pairwise(buckets):
        assert earlier["end"] == later["start"]
    corpus = served.corpus
    almanac = [p for p in corpus.posts.values() if "almanac" in p.text and corpus.visible(p)]
    for bucket in buckets:
        lo, hi = parse(bucket["start"]), parse(bucket["end"])
        assert bucket["tweet_count"] == sum(1 for p in almanac if lo <= p.created_at < hi)
    total = sum(page["meta"]["total_tweet_count"] for page in pages)
    assert total == sum(1 for p in almanac if start <= p.created_at < end) > 0


def test_tweepy_pages_full_archive_counts(
    deep: tuple[Served, UserRecord, UserRecord], client: tweepy.Client
) -> None:
    served = deep[0]
    start = served.corpus.now - timedelta(days=100)
    end = served.corpus.now - timedelta(hours=1)
    responses = list(
        tweepy.Paginator(
            client.get_all_tweets_count,
            "almanac",
            start_time=start,
            end_time=end,
            granularity="day",
        )
    )
    assert [len(r.data) for r in responses] == page_sizes(start, end, timedelta(days=1), 31)
    assert "next_token" not in responses[-1].meta
    pages = [{"data": r.data, "meta": r.meta} for r in responses]
    check_counts(served, pages, start, end)
    recent = list(tweepy.Paginator(client.get_recent_tweets_count, "almanac", granularity="hour"))
    assert len(recent) == 1
    week = [p for p in served.corpus.posts.values() if "almanac" in p.text]
    week = [p for p in week if p.created_at > served.corpus.now - timedelta(days=7)]
    assert recent[0].meta["total_tweet_count"] == len(week) > 0


def test_twarc_pages_full_archive_counts(
    deep: tuple[Served, UserRecord, UserRecord], twarc: Twarc2
) -> None:
    served = deep[0]
    start = served.corpus.now - timedelta(days=40)
    end = served.corpus.now - timedelta(minutes=90)
    pages = list(twarc.counts_all("almanac", start_time=start, end_time=end, granularity="hour"))
    # Two pages and no restart: twarc2 found the last page's first bucket at start_time.
    assert [len(page["data"]) for page in pages] == page_sizes(start, end, timedelta(hours=1), 744)
    check_counts(served, pages, start.astimezone(UTC), end.astimezone(UTC))


def test_timelines_stop_at_the_depth_limit(
    deep: tuple[Served, UserRecord, UserRecord], client: tweepy.Client, twarc: Twarc2
) -> None:
    served, prolific, famous = deep
    corpus = served.corpus
    posts = corpus.visible_ids(lambda p: p.author_id == prolific.id)
    mentions = corpus.visible_ids(lambda p: "Famous" in p.mentions)
    assert len(posts) > 3200 and len(mentions) > 800
    by_tweepy = [
        t.id
        for t in tweepy.Paginator(client.get_users_tweets, prolific.id, max_results=100).flatten()
    ]
    assert by_tweepy == posts[:3200]
    by_twarc = [int(t["id"]) for page in twarc.timeline(str(prolific.id)) for t in page["data"]]
    assert by_twarc == posts[:3200]
    mentioned = [
        t.id
        for t in tweepy.Paginator(client.get_users_mentions, famous.id, max_results=100).flatten()
    ]
    assert mentioned == mentions[:800]
    by_twarc = [int(t["id"]) for page in twarc.mentions(str(famous.id)) for t in page["data"]]
    assert by_twarc == mentions[:800]
