"""The rule index gives exactly the answers of evaluating every rule with the query matcher."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tollhouse.corpus.query import parse
from tollhouse.corpus.query.ast import Field, Flag, Node, Not, Term, all_of, any_of
from tollhouse.corpus.query.matcher import MatchablePost, compile_matcher
from tollhouse.corpus.records import PostRecord, UserRecord
from tollhouse.streams.index import RuleIndex, compile_rule

WORDS = ["cat", "dog", "the", "rain", "x", "42", "café", "tree"]
USERS = ["alice", "bob", "7", "007"]
TAGS = ["news", "cats"]
LANGS = ["en", "fr", "und"]

terms = st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(lambda t: Term(tuple(t)))
fields = st.one_of(
    st.builds(Field, st.sampled_from(["from", "to", "mention"]), st.sampled_from(USERS)),
    st.builds(Field, st.just("hashtag"), st.sampled_from(TAGS)),
    st.builds(Field, st.just("cashtag"), st.sampled_from(["btc", "eth"])),
    st.builds(Field, st.just("lang"), st.sampled_from(LANGS)),
    st.builds(Field, st.just("conversation_id"), st.sampled_from(["1", "2"])),
    st.builds(Field, st.just("url"), st.sampled_from(["example", "news.org"])),
)
flags = st.builds(Flag, st.sampled_from(["is:retweet", "is:reply", "has:links", "is:verified"]))


def _not(node: Node) -> Node:
    return node.child if isinstance(node, Not) else Not(node)


nodes: st.SearchStrategy[Node] = st.recursive(
    st.one_of(terms, fields, flags),
    lambda inner: st.one_of(
        st.lists(inner, min_size=2, max_size=3).map(all_of),
        st.lists(inner, min_size=2, max_size=3).map(any_of),
        inner.map(_not),
    ),
    max_leaves=6,
)


@st.composite
def posts(draw: st.DrawFn) -> MatchablePost:
    words = draw(st.lists(st.sampled_from(WORDS), max_size=6))
    tags = draw(st.lists(st.sampled_from(TAGS), max_size=2, unique=True))
    mentions = draw(st.lists(st.sampled_from(USERS), max_size=2, unique=True))
    author_id = draw(st.sampled_from([7, 8, 9]))
    username = draw(st.sampled_from([*USERS, None]))
    reply_to = draw(st.sampled_from([None, 7, 9]))
    text = " ".join(words + [f"#{t}" for t in tags] + [f"@{m}" for m in mentions])
    post = PostRecord(
        id=draw(st.integers(1, 10**6)),
        author_id=author_id,
        text=text,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        lang=draw(st.sampled_from(LANGS)),
        conversation_id=draw(st.sampled_from([1, 2, None])),
        in_reply_to_user_id=reply_to,
        replied_to_id=5 if reply_to else None,
        retweeted_id=draw(st.sampled_from([None, 3])),
        hashtags=tuple(tags),
        mentions=tuple(mentions),
        urls=tuple(draw(st.lists(st.sampled_from(["https://example.com/a"]), max_size=1))),
        cashtags=tuple(draw(st.lists(st.sampled_from(["btc", "eth"]), max_size=1))),
    )
    author = (
        None
        if username is None
        else UserRecord(author_id, username, datetime(2020, 1, 1, tzinfo=UTC), verified=True)
    )
    reply_name = draw(st.sampled_from([None, *USERS])) if reply_to else None
    return MatchablePost.from_record(post, author, reply_name)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(nodes, min_size=1, max_size=25), st.lists(posts(), min_size=1, max_size=8))
def test_index_matches_exactly_what_every_rule_matches(
    rules: list[Node], sample: list[MatchablePost]
) -> None:
    index = RuleIndex()
    for rule_id, node in enumerate(rules):
        index.add(rule_id, compile_rule(node))
    matchers = [compile_matcher(node) for node in rules]
    for post in sample:
        expected = sorted(i for i, m in enumerate(matchers) if m(post))
        assert sorted(index.match(post)) == expected


@given(st.lists(nodes, min_size=2, max_size=10), posts())
def test_removed_rules_no_longer_match(rules: list[Node], post: MatchablePost) -> None:
    index = RuleIndex()
    for rule_id, node in enumerate(rules):
        index.add(rule_id, compile_rule(node))
    for rule_id in range(0, len(rules), 2):
        index.remove(rule_id)
    expected = sorted(
        i for i, node in enumerate(rules) if i % 2 == 1 and compile_matcher(node)(post)
    )
    assert sorted(index.match(post)) == expected
    assert len(index) == len(rules) // 2


def test_rules_are_filed_under_an_anchor_and_only_unanchored_rules_are_always_checked() -> None:
    index = RuleIndex()
    queries = [
        "cat dog",
        '"the rain"',
        "from:alice -is:retweet",
        "#news OR @bob",
        "-cat",
        "is:retweet has:links",
        "(cat OR is:reply) lang:en",
        "cat OR -dog",
    ]
    for rule_id, query in enumerate(queries):
        index.add(rule_id, compile_rule(parse(query)))
    assert index.always_checked == 2  # "-cat", "cat OR -dog"
    assert compile_rule(parse('"the rain"')).keys == frozenset({"rain"})
    assert compile_rule(parse("is:retweet has:links")).keys is not None
    assert compile_rule(parse("from:007")).keys == frozenset({"from:007", "from-id:7"})
