"""The SQL compiler against the matcher: for every query and every post, same answer.

The property test builds small random corpora (a tiny vocabulary, so that terms hit) and random
queries from the whole grammar, runs each query as SQL on a real database (SQLite FTS5 and
PostgreSQL token arrays) and through the in-memory matcher, and compares the selected ids.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from tollhouse.corpus.models import posts
from tollhouse.corpus.query import (
    Field,
    Flag,
    Node,
    QuerySyntaxError,
    Term,
    all_of,
    any_of,
    negate,
    parse,
    post_keys,
    render,
    terms_required,
)
from tollhouse.corpus.query.ast import FLAG_NAMES
from tollhouse.corpus.query.matcher import MatchablePost, compile_matcher
from tollhouse.corpus.query.sql import compile_where
from tollhouse.corpus.records import PostRecord, UserRecord
from tollhouse.corpus.store import insert_posts, insert_users

T0 = datetime(2026, 11, 1, tzinfo=UTC)

# Users: "123" is both a user id (dave) and another user's username, to exercise from:/to: digits.
USERNAMES = {1: "alice", 2: "Bob", 3: "carol", 5: "123", 123: "dave"}
AUTHOR_IDS = [*USERNAMES, 999]  # 999 has no user row
WORDS = ["apple", "Banana", "cherry", "a", "b", "café", "NAÏVE", "x1", "hello-world", "42"]
WORDS += ["or", "NOT", "near"]  # FTS5 keywords must stay plain words
SEPARATORS = [" ", ", ", "-", "! ", "\n", "'"]
LANGS = ["en", "EN", "fr", "pt-BR", "pt-br", "und"]
HASHTAGS = ["Tag", "tag2", "Été"]
MENTIONS = ["alice", "BOB", "zed", "123"]
URLS = ["https://Example.com/a", "http://x.org/B?q=1", "https://example.com"]
CASHTAGS = ["AAPL", "tsla"]

QUERY_WORDS = ["apple", "banana", "cherry", "a", "b", "café", "naïve", "x1", "hello", "world"]
QUERY_WORDS += ["42", "zzz", "or", "not", "near"]
QUERY_USERS = ["alice", "bob", "123", "1", "5", "999", "nobody"]


def texts() -> st.SearchStrategy[str]:
    pieces = st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)), max_size=6)
    return pieces.map(lambda ps: "".join(w + s for w, s in ps))


@st.composite
def post_records(draw: st.DrawFn, post_id: int) -> PostRecord:
    reply = draw(st.booleans())
    optional_id = st.one_of(st.none(), st.integers(1000, 1012))
    return PostRecord(
        id=post_id,
        author_id=draw(st.sampled_from(AUTHOR_IDS)),
        text=draw(texts()),
        created_at=T0,
        lang=draw(st.sampled_from(LANGS)),
        conversation_id=draw(st.sampled_from([None, 100, 101])),
        in_reply_to_user_id=draw(st.sampled_from([1, 2, 5, 123, 999])) if reply else None,
        replied_to_id=draw(st.integers(1000, 1012)) if reply else None,
        retweeted_id=draw(optional_id),
        quoted_id=draw(optional_id),
        hashtags=tuple(draw(st.lists(st.sampled_from(HASHTAGS), max_size=2))),
        mentions=tuple(draw(st.lists(st.sampled_from(MENTIONS), max_size=2))),
        urls=tuple(draw(st.lists(st.sampled_from(URLS), max_size=2, unique=True))),
        cashtags=tuple(draw(st.lists(st.sampled_from(CASHTAGS), max_size=1))),
    )


@st.composite
def corpora(draw: st.DrawFn) -> tuple[list[UserRecord], list[PostRecord]]:
    users = [
        UserRecord(id=uid, username=name, created_at=T0, verified=draw(st.booleans()))
        for uid, name in USERNAMES.items()
    ]
    count = draw(st.integers(1, 12))
    return users, [draw(post_records(1000 + i)) for i in range(count)]


def leaves() -> st.SearchStrategy[Node]:
    words = st.sampled_from(QUERY_WORDS)
    return st.one_of(
        words.map(lambda w: Term((w,))),
        st.lists(words, min_size=2, max_size=3).map(lambda ws: Term(tuple(ws))),
        st.builds(Field, st.sampled_from(["from", "to"]), st.sampled_from(QUERY_USERS)),
        st.builds(Field, st.just("mention"), st.sampled_from(["alice", "bob", "zed", "123"])),
        st.builds(Field, st.just("hashtag"), st.sampled_from(["tag", "tag2", "été", "nope"])),
        st.builds(Field, st.just("cashtag"), st.sampled_from(["aapl", "tsla", "msft"])),
        st.builds(Field, st.just("lang"), st.sampled_from(["en", "fr", "pt-br", "und", "de"])),
        st.builds(
            Field, st.just("conversation_id"), st.sampled_from(["100", "101", "1000", "1003"])
        ),
        st.builds(
            Field,
            st.just("url"),
            st.sampled_from(["example.com", "x.org/b", "https", "/a", "?q=1", "nothing"]),
        ),
        st.builds(Flag, st.sampled_from(FLAG_NAMES)),
    )


def queries() -> st.SearchStrategy[Node]:
    return st.recursive(
        leaves(),
        lambda inner: st.one_of(
            st.lists(inner, min_size=2, max_size=4).map(all_of),
            st.lists(inner, min_size=2, max_size=4).map(any_of),
            inner.map(negate),
        ),
        max_leaves=10,
    )


def selected_by_sql(conn: Connection, node: Node) -> set[int]:
    where = compile_where(node, conn.dialect.name)
    return set(conn.execute(select(posts.c.id).where(where)).scalars())


def matchables(users: list[UserRecord], records: list[PostRecord]) -> list[MatchablePost]:
    by_id = {u.id: u for u in users}
    replied_to = {uid: u.username for uid, u in by_id.items()}
    return [
        MatchablePost.from_record(
            p, by_id.get(p.author_id), replied_to.get(p.in_reply_to_user_id or 0)
        )
        for p in records
    ]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(corpus=corpora(), nodes=st.lists(queries(), min_size=1, max_size=4))
def test_sql_selects_exactly_what_the_matcher_accepts(
    engine: Engine, corpus: tuple[list[UserRecord], list[PostRecord]], nodes: list[Node]
) -> None:
    users, records = corpus
    candidates = matchables(users, records)
    with engine.connect() as conn, conn.begin() as transaction:
        insert_users(conn, users)
        insert_posts(conn, records)
        for node in nodes:
            assert parse(render(node)) == node  # the generated tree is a real query
            expected = {p.id for p in candidates if compile_matcher(node)(p)}
            assert selected_by_sql(conn, node) == expected, render(node)
            event("matches: " + _share(len(expected), len(candidates)))
        transaction.rollback()


@settings(max_examples=100, deadline=None)
@given(corpus=corpora(), node=queries())
def test_every_match_carries_the_required_terms(
    corpus: tuple[list[UserRecord], list[PostRecord]], node: Node
) -> None:
    required = terms_required(node)
    match = compile_matcher(node)
    for post in matchables(*corpus):
        if match(post):
            assert required <= post_keys(post)


def _share(matched: int, total: int) -> str:
    return "none" if matched == 0 else "all" if matched == total else "some"


def test_values_are_bound_never_spliced_into_sql(engine: Engine) -> None:
    hostile = "x'); drop table posts; --"
    node = parse(f'url:"{hostile}" OR from:robert OR "drop table"')
    where = compile_where(node, engine.dialect.name)
    assert "drop" not in str(where.compile(dialect=engine.dialect)).lower()
    with engine.connect() as conn:
        assert selected_by_sql(conn, node) == set()
        assert conn.execute(select(posts.c.id)).all() == []  # the table is still there


def test_only_sqlite_and_postgresql_are_compiled() -> None:
    with pytest.raises(ValueError, match="mysql"):
        compile_where(parse("apple"), "mysql")


QUERY_PIECES = (
    *("a", "Z", "é", "İ", "ß", "1", "_", ".", "%", "'", "\\", "*", "^", ";", "//", " ", " "),
    *("-", "(", ")", '"', "OR", ":", "@", "#", "$", "NEAR", "AND", "NOT"),
    *("from:", "to:", "is:", "has:", "url:", "lang:", "conversation_id:", "retweet", "links"),
)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.one_of(st.text(), st.lists(st.sampled_from(QUERY_PIECES)).map("".join)))
def test_every_query_that_parses_runs(engine: Engine, text: str) -> None:
    try:
        node = parse(text)
    except QuerySyntaxError:
        return
    with engine.connect() as conn:
        assert selected_by_sql(conn, node) == set()  # an empty corpus; it must simply run


def test_a_very_long_disjunction_runs(engine: Engine) -> None:
    # More parts than SQLite allows in one compound SELECT (500), under a generous length limit.
    node = parse(" OR ".join(f"@u{i} OR from:u{i}" for i in range(260)), max_length=100_000)
    users = [UserRecord(id=1, username="u259", created_at=T0)]
    records = [
        PostRecord(id=1000, author_id=1, text="x", created_at=T0),
        PostRecord(id=1001, author_id=2, text="x", created_at=T0, mentions=("U7",)),
        PostRecord(id=1002, author_id=2, text="x", created_at=T0),
    ]
    with engine.connect() as conn, conn.begin() as transaction:
        insert_users(conn, users)
        insert_posts(conn, records)
        assert selected_by_sql(conn, node) == {1000, 1001}
        transaction.rollback()
