"""Paging as deep as X allows, over a corpus with a prolific user and 100 days of history.

Timelines serve only their newest posts, as X does: 3,200 of a user's posts, 800 when replies
are excluded, 800 mentions. Paging ends there (no next_token), whichever way the deep end is
reached: by next tokens, by previous tokens and back, or by `until_id`/`end_time`.

Full-archive counts answer 31 days per page, newest page first, and page on with next_token."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.api.conftest import Api, running_api
from tests.api.sample_corpus import add_depth
from tests.api.test_tweets import bad, get
from tollhouse.api import pagination
from tollhouse.corpus.records import UserRecord


@dataclass
class Deep:
    api: Api
    prolific: UserRecord
    famous: UserRecord

    def timeline(self) -> list[int]:
        return self.api.corpus.visible_ids(lambda p: p.author_id == self.prolific.id)

    def mentions(self) -> list[int]:
        return self.api.corpus.visible_ids(lambda p: "Famous" in p.mentions)


@pytest.fixture(scope="module")
def deep(corpus_database: str) -> Iterator[Deep]:
    users: list[UserRecord] = []

    def extend(engine: Any, corpus: Any) -> None:
        users.extend(add_depth(engine, corpus))

    with running_api(corpus_database, extend) as api:
        yield Deep(api, *users)


def page_through(api: Api, path: str, **params: Any) -> tuple[list[int], list[dict[str, Any]]]:
    """Follow next_token from the first page to the end: (ids in order, each page's meta)."""
    ids: list[int] = []
    metas: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        body = get(api, path, **params, **({"pagination_token": token} if token else {}))
        ids += [int(t["id"]) for t in body.get("data", [])]
        metas.append(body["meta"])
        token = body["meta"].get("next_token")
        if token is None:
            return ids, metas
        assert len(metas) < 100, "paging does not end"


def test_user_timeline_ends_at_3200_posts(deep: Deep) -> None:
    expected = deep.timeline()
    assert len(expected) > 3200
    path = f"/2/users/{deep.prolific.id}/tweets"
    ids, metas = page_through(deep.api, path, max_results=75)
    assert ids == expected[:3200]
    assert [m["result_count"] for m in metas] == [75] * 42 + [50]
    assert "next_token" not in metas[-1]


def test_replies_excluded_and_mentions_end_at_800(deep: Deep) -> None:
    no_replies = [i for i in deep.timeline() if deep.api.corpus.posts[i].replied_to_id is None]
    assert len(no_replies) > 800
    path = f"/2/users/{deep.prolific.id}/tweets"
    ids, _ = page_through(deep.api, path, max_results=100, exclude="replies")
    assert ids == no_replies[:800]
    only_retweets_excluded, _ = page_through(deep.api, path, max_results=100, exclude="retweets")
    assert len(only_retweets_excluded) == 3200
    mentions = deep.mentions()
    assert len(mentions) > 800
    ids, metas = page_through(deep.api, f"/2/users/{deep.famous.id}/mentions", max_results=100)
    assert ids == mentions[:800]
    assert len(metas) == 8


def test_previous_token_from_the_deepest_page_and_back(deep: Deep) -> None:
    expected = deep.timeline()
    path = f"/2/users/{deep.prolific.id}/tweets"
    _, metas = page_through(deep.api, path, max_results=100)
    assert len(metas) == 32
    last_token = metas[-2]["next_token"]  # leads to the 32nd page, posts 3101..3200
    last = get(deep.api, path, max_results=100, pagination_token=last_token)
    assert "next_token" not in last["meta"]
    back = get(deep.api, path, max_results=100, pagination_token=last["meta"]["previous_token"])
    assert [int(t["id"]) for t in back["data"]] == expected[3000:3100]
    again = get(deep.api, path, max_results=100, pagination_token=back["meta"]["next_token"])
    assert [int(t["id"]) for t in again["data"]] == expected[3100:3200]
    assert "next_token" not in again["meta"]


def test_until_id_and_end_time_cannot_reach_past_the_limit(deep: Deep) -> None:
    expected = deep.timeline()
    path = f"/2/users/{deep.prolific.id}/tweets"
    near_end = get(deep.api, path, max_results=100, until_id=expected[3149])
    assert [int(t["id"]) for t in near_end["data"]] == expected[3150:3200]
    assert "next_token" not in near_end["meta"]
    beyond = get(deep.api, path, max_results=100, until_id=expected[3250])
    assert beyond == {"meta": {"result_count": 0}}
    end_time = deep.api.corpus.posts[expected[3099]].created_at.astimezone(UTC)
    by_time, metas = page_through(
        deep.api, path, max_results=100, end_time=end_time.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    # Posts are two minutes apart, so end_time at a post's whole second excludes it.
    assert by_time == expected[3100:3200]
    assert len(metas) == 1
    mentions = deep.mentions()
    famous = f"/2/users/{deep.famous.id}/mentions"
    tail = get(deep.api, famous, max_results=100, until_id=mentions[759])
    assert [int(t["id"]) for t in tail["data"]] == mentions[760:800]
    assert "next_token" not in tail["meta"]


def test_tokens_without_depth_are_counted(deep: Deep) -> None:
    """A token without the depth (as search issues them) still stops at the limit."""
    expected = deep.timeline()
    path = f"/2/users/{deep.prolific.id}/tweets"
    timeline = deep.api.binding("/2/users/:id/tweets", str(deep.prolific.id), "")
    token = pagination.encode(timeline, "next", expected[3179])
    body = get(deep.api, path, max_results=100, pagination_token=token)
    assert [int(t["id"]) for t in body["data"]] == expected[3180:3200]
    assert "next_token" not in body["meta"]
    back = get(
        deep.api,
        path,
        max_results=10,
        pagination_token=pagination.encode(timeline, "previous", expected[50]),
    )
    assert [int(t["id"]) for t in back["data"]] == expected[40:50]
    onwards = get(deep.api, path, max_results=100, pagination_token=back["meta"]["next_token"])
    assert [int(t["id"]) for t in onwards["data"]] == expected[50:150]


def test_bad_and_forged_tokens_are_400(deep: Deep) -> None:
    expected = deep.timeline()
    path = f"/2/users/{deep.prolific.id}/tweets"
    assert "is not a valid pagination token" in bad(deep.api, path, pagination_token="zzz")
    timeline = deep.api.binding("/2/users/:id/tweets", str(deep.prolific.id), "")
    too_deep = pagination.encode(timeline, "next", expected[10], 3200)
    assert "is not a valid pagination token" in bad(deep.api, path, pagination_token=too_deep)
    mentions = f"/2/users/{deep.famous.id}/mentions"
    bound = deep.api.binding("/2/users/:id/mentions", str(deep.famous.id), "")
    for token in (pagination.encode(bound, "next", 1, 800), pagination.encode_counts(bound, 1)):
        assert "is not a valid pagination token" in bad(deep.api, mentions, pagination_token=token)


# ---- counts ----


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def count_pages(api: Api, path: str, token_name: str, **params: Any) -> list[dict[str, Any]]:
    pages = [get(api, path, **params)]
    while "next_token" in pages[-1]["meta"]:
        pages.append(get(api, path, **params, **{token_name: pages[-1]["meta"]["next_token"]}))
        assert len(pages) < 20, "paging does not end"
    return pages


@pytest.mark.parametrize(
    ("granularity", "days", "n_pages", "token_name"),
    [("day", 100, 4, "next_token"), ("hour", 40, 2, "pagination_token")],
)
def test_full_archive_counts_page_31_days_at_a_time(
    deep: Deep, granularity: str, days: int, n_pages: int, token_name: str
) -> None:
    corpus = deep.api.corpus
    start = corpus.now - timedelta(days=days, minutes=17)
    end = corpus.now - timedelta(minutes=30)
    pages = count_pages(
        deep.api,
        "/2/tweets/counts/all",
        token_name,
        query="almanac",
        granularity=granularity,
        start_time=iso(start),
        end_time=iso(end),
    )
    assert len(pages) == n_pages
    per_page = {"day": 31, "hour": 744}[granularity]
    assert [len(page["data"]) for page in pages[:-1]] == [per_page] * (n_pages - 1)
    assert 1 <= len(pages[-1]["data"]) <= per_page
    for page in pages:
        assert page["meta"]["total_tweet_count"] == sum(b["tweet_count"] for b in page["data"])
    # Newest page first, buckets oldest first within a page.
    buckets = [bucket for page in reversed(pages) for bucket in page["data"]]
    assert parse(buckets[0]["start"]) == start
    assert parse(buckets[-1]["end"]) == end
    for earlier, later in itertools.pairwise(buckets):
        assert earlier["end"] == later["start"]
    almanac = [p for p in corpus.posts.values() if "almanac" in p.text and corpus.visible(p)]
    for bucket in buckets:
        lo, hi = parse(bucket["start"]), parse(bucket["end"])
        assert bucket["tweet_count"] == sum(1 for p in almanac if lo <= p.created_at < hi)
    assert sum(b["tweet_count"] for b in buckets) == sum(
        1 for p in almanac if start <= p.created_at < end
    )
    assert sum(b["tweet_count"] for b in buckets) > 2 * days - 4


def test_minute_counts_page_too_and_recent_counts_are_one_page(deep: Deep) -> None:
    corpus = deep.api.corpus
    archive = get(
        deep.api,
        "/2/tweets/counts/all",
        query="almanac",
        granularity="minute",
        start_time=iso(corpus.now - timedelta(days=40)),
    )
    assert len(archive["data"]) == 44_640
    assert "next_token" in archive["meta"]
    recent = get(deep.api, "/2/tweets/counts/recent", query="almanac", granularity="minute")
    assert 7 * 1440 <= len(recent["data"]) <= 7 * 1440 + 1
    assert "next_token" not in recent["meta"]


def test_bad_counts_tokens_are_400(deep: Deep) -> None:
    corpus = deep.api.corpus
    path = "/2/tweets/counts/all"
    params = {
        "query": "almanac",
        "granularity": "day",
        "start_time": iso(corpus.now - timedelta(days=100)),
        "end_time": iso(corpus.now - timedelta(hours=1)),
    }
    first = get(deep.api, path, **params)
    token = first["meta"]["next_token"]
    daily = deep.api.binding(path, "almanac", "day")
    message = "is not a valid pagination token"
    assert message in bad(deep.api, path, **params, next_token="junk")
    assert message in bad(
        deep.api, path, **params, next_token=pagination.encode(daily, "next", 10**18)
    )
    # A token for another range: its page end lies outside this one.
    later = {**params, "start_time": iso(corpus.now - timedelta(days=30))}
    assert message in bad(deep.api, path, **later, next_token=token)
    # A page end on an hour that is not a day boundary.
    page_end = parse(first["data"][0]["start"]) - timedelta(hours=5)
    odd = pagination.encode_counts(daily, int(page_end.timestamp()) * 1000)
    assert message in bad(deep.api, path, **params, pagination_token=odd)
    hourly = {**params, "granularity": "hour"}
    # A token is bound to its granularity: the daily one is refused by hourly counts.
    assert message in bad(deep.api, path, **hourly, pagination_token=token)
    odd = pagination.encode_counts(
        deep.api.binding(path, "almanac", "hour"), int(page_end.timestamp()) * 1000
    )
    assert get(deep.api, path, **hourly, pagination_token=odd)["data"][-1]["end"] == iso(
        page_end
    ).replace("Z", ".000Z")


def test_openapi_states_the_paging_limits(deep: Deep) -> None:
    doc = deep.api.client.get("/openapi.json").json()

    def parameter(path: str, name: str) -> str:
        operation = doc["paths"][path]["get"]
        described: str = next(p for p in operation["parameters"] if p["name"] == name)[
            "description"
        ]
        return described

    assert "31 days" in parameter("/2/tweets/counts/all", "next_token")
    assert "31 days" in doc["paths"]["/2/tweets/counts/all"]["get"]["description"]
    assert "3,200" in parameter("/2/users/{id}/tweets", "pagination_token")
    assert "800" in parameter("/2/users/{id}/mentions", "pagination_token")
    # Search keeps the shared wording.
    assert parameter("/2/tweets/search/all", "next_token") == "Opaque token from meta.next_token."
