"""The in-memory matcher: the semantics of each operator on concrete posts.

(That it agrees with SQL on every query and post is the property test in test_query_sql.py.)
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tollhouse.corpus.query import parse
from tollhouse.corpus.query.matcher import MatchablePost, compile_matcher
from tollhouse.corpus.records import PostRecord, UserRecord
from tollhouse.corpus.store import facet_rows

T0 = datetime(2026, 11, 1, tzinfo=UTC)
JACK = UserRecord(id=12, username="Jack", created_at=T0, verified=True)
POST = PostRecord(
    id=500,
    author_id=12,
    text="The quick, brown fox: Hello-World! café",
    created_at=T0,
    lang="pt-BR",
    hashtags=("Python",),
    mentions=("Alice",),
    urls=("https://Example.com/Path?q=1",),
    cashtags=("AAPL",),
)


def matches(query: str, post: PostRecord = POST, author: UserRecord | None = JACK) -> bool:
    reply_to = "Bob" if post.in_reply_to_user_id == 7 else None
    return compile_matcher(parse(query))(MatchablePost.from_record(post, author, reply_to))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("quick", True),
        ("QUICK", True),
        ("qui", False),  # keywords are whole tokens, not substrings
        ("quick fox", True),
        ("quick dog", False),
        ('"quick brown"', True),
        ('"brown quick"', False),  # a phrase keeps its order
        ('"quick fox"', False),  # and its adjacency
        ("hello-world", True),
        ('"world café"', True),
        ("quick OR dog", True),
        ("dog OR cat", False),
        ("dog OR cat quick", False),  # = dog OR (cat quick)
        ("(dog OR quick) fox", True),
        ("-dog", True),
        ("-quick", False),
        ("-(dog OR quick)", False),
        ("from:jack", True),
        ("from:JACK", True),
        ("from:12", True),
        ("from:13", False),
        ("from:jill", False),
        ("@alice", True),
        ("@bob", False),
        ("#python", True),
        ("#py", False),
        ("$aapl", True),
        ("$tsla", False),
        ("lang:pt-br", True),
        ("lang:PT-BR", True),
        ("lang:pt", False),
        ("url:example.com/path", True),
        ('url:"EXAMPLE.COM"', True),
        ("url:q=1", True),
        ("url:other.org", False),
        ("conversation_id:500", True),  # a post without a thread is its own conversation
        ("conversation_id:501", False),
        ("is:verified", True),
        ("is:retweet OR is:reply OR is:quote", False),
        ("has:links has:mentions has:hashtags", True),
        ("to:bob", False),
        ("-to:bob", True),  # no reply: to:x is false, so its negation is true
    ],
)
def test_operator_semantics(query: str, expected: bool) -> None:
    assert matches(query) is expected


def test_replies_retweets_and_quotes() -> None:
    reply = replace(POST, in_reply_to_user_id=7, replied_to_id=400, conversation_id=400)
    assert matches("is:reply to:bob to:7 conversation_id:400", reply)
    assert not matches("to:jack OR to:12 OR is:retweet OR is:quote", reply)
    assert matches("is:retweet", replace(POST, retweeted_id=1))
    assert matches("is:quote -is:retweet", replace(POST, quoted_id=1))


def test_unknown_author_matches_by_id_only() -> None:
    assert matches("from:12", author=None)
    assert not matches("from:jack", author=None)
    assert not matches("is:verified", author=None)
    assert not matches("is:verified", author=replace(JACK, verified=False))


def test_a_post_without_entities_or_tokens() -> None:
    bare = PostRecord(id=1, author_id=12, text="!!!", created_at=T0)
    assert matches("-has:links -has:mentions -has:hashtags -url:http -#a -@b", bare)
    assert not matches("a OR lang:en", bare)
    assert matches("lang:und", bare)


def test_from_record_normalises_once() -> None:
    post = MatchablePost.from_record(replace(POST, in_reply_to_user_id=7), JACK, "BoB")
    assert post.author_username == "jack"
    assert post.in_reply_to_username == "bob"
    assert post.tokens == {"the", "quick", "brown", "fox", "hello", "world", "café"}
    assert post.search_text == " the quick brown fox hello world café "
    assert (post.mentions, post.hashtags, post.cashtags) == (
        frozenset({"alice"}),
        frozenset({"python"}),
        frozenset({"aapl"}),
    )
    assert post.urls == ("https://example.com/path?q=1",)
    assert post.lang == "pt-br"
    # The replied-to username only counts when the post is a reply.
    assert MatchablePost.from_record(POST, JACK, "bob").in_reply_to_username is None


def test_a_compiled_matcher_is_reused_across_posts() -> None:
    match = compile_matcher(parse("(quick OR slow) -lazy"))
    texts = ["quick fox", "slow fox", "lazy quick fox", "fox"]
    results = [match(MatchablePost.from_record(replace(POST, text=t), JACK, None)) for t in texts]
    assert results == [True, True, False, False]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.text(max_size=600), max_size=3),
    st.lists(st.text(max_size=3), max_size=3),
    st.lists(st.text(max_size=600), max_size=3),
)
def test_facets_follow_the_store_rule(
    mentions: list[str], tags: list[str], urls: list[str]
) -> None:
    # The matcher inlines store.facet_rows' rule for speed; they must never drift apart.
    record = replace(POST, mentions=tuple(mentions), hashtags=tuple(tags), urls=tuple(urls))
    stored: dict[str, set[str]] = {"m": set(), "h": set(), "u": set(), "c": set()}
    for row in facet_rows(record):
        stored[row["kind"]].add(row["value"])
    post = MatchablePost.from_record(record, JACK, None)
    assert post.mentions == stored["m"]
    assert post.hashtags == stored["h"]
    assert set(post.urls) == stored["u"]
    assert post.cashtags == stored["c"]
