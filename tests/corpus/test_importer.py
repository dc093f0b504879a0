"""Importing X API v2 JSON/JSONL: twarc2 pages, single tweets, whole documents, idempotence,
and bad lines reported by number without anything half-applied (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from tollhouse.cli.main import app
from tollhouse.corpus.importer import UnitRejected, import_file, parse_unit
from tollhouse.corpus.models import post_facets, posts, users
from tollhouse.db import create_engine
from tollhouse.migrations.runner import upgrade


def user(uid: int, username: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": str(uid),
        "username": username,
        "name": username.title(),
        "created_at": "2015-03-01T10:00:00.000Z",
        "verified": False,
        "protected": False,
        "public_metrics": {
            "followers_count": 10,
            "following_count": 5,
            "tweet_count": 100,
            "listed_count": 1,
        },
        **extra,
    }


def tweet(tid: int, author: int, text: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": str(tid),
        "text": text,
        "author_id": str(author),
        "created_at": "2026-10-20T12:34:56.000Z",
        "lang": "en",
        "conversation_id": str(tid),
        "possibly_sensitive": False,
        "public_metrics": {
            "retweet_count": 1,
            "reply_count": 2,
            "like_count": 3,
            "quote_count": 4,
            "bookmark_count": 0,
            "impression_count": 99,
        },
        **extra,
    }


T1, T2, T3, T4 = (1850000000000000001 + k for k in range(4))


def twarc_page() -> dict[str, Any]:
    """A search page as twarc2 writes it: data, includes.users/tweets, meta, __twarc."""
    reply = tweet(
        T2,
        2,
        "@alice agreed #Python https://t.co/abc",
        conversation_id=str(T1),
        in_reply_to_user_id="1",
        referenced_tweets=[{"type": "replied_to", "id": str(T1)}],
        entities={
            "mentions": [{"start": 0, "end": 6, "username": "alice", "id": "1"}],
            "hashtags": [{"start": 14, "end": 21, "tag": "Python"}],
            "urls": [
                {
                    "start": 22,
                    "end": 37,
                    "url": "https://t.co/abc",
                    "expanded_url": "https://example.com/a",
                    "display_url": "example.com/a",
                }
            ],
        },
    )
    return {
        "data": [reply, tweet(T3, 1, "RT @bob: hello", referenced_tweets=[])],
        "includes": {
            "users": [user(1, "alice", verified=True), user(2, "bob")],
            "tweets": [tweet(T1, 1, "hello world")],
        },
        "meta": {"result_count": 2, "newest_id": str(T3), "oldest_id": str(T2)},
        "__twarc": {"url": "https://api.twitter.com/2/tweets/search/recent", "version": "2.14"},
    }


def write_lines(path: Path, lines: list[Any]) -> Path:
    path.write_text(
        "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n",
        encoding="utf-8",
    )
    return path


def counts(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return (
            conn.execute(select(func.count()).select_from(posts)).scalar_one(),
            conn.execute(select(func.count()).select_from(users)).scalar_one(),
            conn.execute(select(func.count()).select_from(post_facets)).scalar_one(),
        )


def test_twarc_pages_and_single_tweets(engine: Engine, tmp_path: Path) -> None:
    single = tweet(
        T4, 2, "just me $TSLA", entities={"cashtags": [{"start": 8, "end": 13, "tag": "TSLA"}]}
    )
    path = write_lines(tmp_path / "in.jsonl", [twarc_page(), "", single])
    summary = import_file(engine, path)
    assert summary.errors == []
    assert (summary.units, summary.posts_imported, summary.users_imported) == (2, 4, 2)
    with engine.connect() as conn:
        row = conn.execute(select(posts).where(posts.c.id == T2)).one()
        assert row.author_id == 2
        assert row.conversation_id == T1
        assert row.in_reply_to_user_id == 1
        assert row.replied_to_id == T1
        assert row.has_links and row.has_mentions and row.has_hashtags
        assert row.entities["urls"][0]["expanded_url"] == "https://example.com/a"
        assert (row.like_count, row.quote_count, row.impression_count) == (3, 4, 99)
        assert row.search_text == " alice agreed python https t co abc "
        assert row.created_at.replace(tzinfo=UTC) == datetime(2026, 10, 20, 12, 34, 56, tzinfo=UTC)
        facets = set(
            conn.execute(
                select(post_facets.c.kind, post_facets.c.value).where(post_facets.c.post_id == T2)
            ).all()
        )
        assert facets == {("m", "alice"), ("h", "python"), ("u", "https://example.com/a")}
        alice = conn.execute(select(users).where(users.c.id == 1)).one()
        assert (alice.username, alice.verified, alice.followers_count) == ("alice", True, 10)
        included = conn.execute(select(posts.c.text).where(posts.c.id == T1)).scalar_one()
        assert included == "hello world"
        cashtag = conn.execute(
            select(post_facets.c.value).where(post_facets.c.post_id == T4)
        ).scalar_one()
        assert cashtag == "tsla"


def test_importing_twice_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "in.jsonl", [twarc_page(), tweet(T4, 1, "again")])
    import_file(engine, path)
    with engine.connect() as conn:
        before = conn.execute(select(posts).order_by(posts.c.id)).all()
    second = import_file(engine, path)
    assert (second.posts_imported, second.users_imported, second.skipped) == (0, 0, 0)
    assert second.posts_read == 4
    with engine.connect() as conn:
        assert conn.execute(select(posts).order_by(posts.c.id)).all() == before
    assert counts(engine)[:2] == (4, 2)


def test_bad_lines_are_reported_by_number_and_never_half_applied(
    engine: Engine, tmp_path: Path
) -> None:
    bad_user_page = {
        "data": [tweet(T4, 3, "should not land")],
        "includes": {"users": [{"id": "3", "username": 42}]},
    }
    lines = [
        tweet(T1, 1, "fine"),  # 1
        "{not json",  # 2
        {"id": str(T2), "author_id": "1"},  # 3: no text
        tweet(T3, 1, "x", id=17.5),  # 4: id of the wrong type
        bad_user_page,  # 5: a good tweet, but its page has a bad user
        {"id": str(T3), "text": "no author"},  # 6
        {"hello": "world"},  # 7
        tweet(T3, 1, "fine too"),  # 8
    ]
    summary = import_file(engine, write_lines(tmp_path / "in.jsonl", lines))
    reasons = {e.number: e.reason for e in summary.errors}
    assert sorted(reasons) == [2, 3, 4, 5, 6, 7]
    assert reasons[2].startswith("invalid JSON")
    assert "missing text" in reasons[3]
    assert reasons[4].startswith("id:")
    assert "includes.users[0].username" in reasons[5]
    assert "author_id" in reasons[6]
    assert "neither a tweet" in reasons[7]
    assert (summary.units, summary.skipped, summary.posts_imported) == (8, 6, 2)
    with engine.connect() as conn:
        ids = set(conn.execute(select(posts.c.id)).scalars())
    assert ids == {T1, T3}  # nothing from line 5


def test_whole_json_documents(engine: Engine, tmp_path: Path) -> None:
    page = tmp_path / "page.json"
    page.write_text(json.dumps(twarc_page(), indent=2), encoding="utf-8")
    summary = import_file(engine, page)
    assert (summary.unit, summary.units, summary.posts_imported) == ("item", 1, 3)

    listing = tmp_path / "list.json"
    single_lookup = {"data": tweet(T4, 9, "one"), "includes": {"users": [user(9, "carol")]}}
    listing.write_text(json.dumps([single_lookup, {"id": "x", "text": "bad id"}], indent=1))
    summary = import_file(engine, listing)
    assert [(e.number, e.reason.split(":")[0]) for e in summary.errors] == [(2, "id")]
    assert (summary.posts_imported, summary.users_imported) == (1, 1)


def test_created_at_falls_back_to_the_snowflake(engine: Engine, tmp_path: Path) -> None:
    undated = {"id": "1850000000000000001", "text": "when?", "author_id": "5"}
    old = {"id": "12345", "text": "2007", "author_id": "5"}
    summary = import_file(engine, write_lines(tmp_path / "in.jsonl", [undated, old]))
    assert [e.number for e in summary.errors] == [2]
    assert "created_at" in summary.errors[0].reason
    with engine.connect() as conn:
        created = conn.execute(select(posts.c.created_at)).scalar_one()
    assert created.replace(tzinfo=UTC) == datetime(2024, 10, 26, 2, 22, 25, 994000, tzinfo=UTC)


# --- the parser on arbitrary input ----------------------------------------------------------

KEYS = st.sampled_from(["id", "text", "author_id", "data", "includes", "users", "x"])


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(children, max_size=3) | st.dictionaries(KEYS, children, max_size=4)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    _containers,
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_is_either_a_unit_or_a_reason(value: Any) -> None:
    try:
        unit = parse_unit(1, value)
    except UnitRejected as exc:
        assert str(exc)
    else:
        assert all(p.text is not None for p in unit.posts)


@settings(max_examples=200, deadline=None)
@given(
    tid=st.integers(min_value=10**15, max_value=2**63 - 1),
    author=st.integers(min_value=1, max_value=2**63 - 1),
    body=st.text(max_size=40).filter(lambda s: "\x00" not in s),
    lang=st.sampled_from(["en", "ja", "und", None]),
)
def test_valid_tweets_round_trip(tid: int, author: int, body: str, lang: str | None) -> None:
    raw = {"id": str(tid), "text": body, "author_id": str(author)}
    if lang:
        raw["lang"] = lang
    (post,) = parse_unit(1, raw).posts
    assert (post.id, post.author_id, post.text, post.lang) == (tid, author, body, lang or "und")
    assert post.conversation == tid


# --- the command ---------------------------------------------------------------------------


def migrated(url: str) -> str:
    """`url` after `tollhouse db upgrade`: the corpus commands do not migrate by themselves."""
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def test_cli_import_summary_and_exit_codes(tmp_path: Path) -> None:
    url = migrated(f"sqlite:///{tmp_path / 'cli.db'}")
    runner = CliRunner()
    good = write_lines(tmp_path / "good.jsonl", [twarc_page(), "nope"])
    result = runner.invoke(app, ["corpus", "import", str(good), "--database-url", url])
    assert result.exit_code == 0, result.output
    assert "line 2: invalid JSON" in result.output
    assert "3 posts and 2 users imported" in result.output
    assert "1 skipped" in result.output

    hopeless = write_lines(tmp_path / "bad.jsonl", ["nope", "[1]"])
    result = runner.invoke(app, ["corpus", "import", str(hopeless), "--database-url", url])
    assert result.exit_code != 0
    assert "nothing could be read" in result.output

    missing = runner.invoke(app, ["corpus", "import", str(tmp_path / "none.jsonl")])
    assert missing.exit_code != 0 and "no such file" in missing.output


@pytest.mark.parametrize("blank", ["", "\n\n"])
def test_empty_file_reads_nothing(sqlite_engine: Engine, tmp_path: Path, blank: str) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text(blank)
    summary = import_file(sqlite_engine, path)
    assert (summary.units, summary.readable) == (0, False)


def test_twarc_flattened_tweets_bring_their_embedded_users_and_references(
    engine: Engine, tmp_path: Path
) -> None:
    original = {**tweet(T1, 1, "the original"), "author": user(1, "alice")}
    flat = {
        **tweet(
            T2,
            2,
            "@alice yes",
            in_reply_to_user_id="1",
            conversation_id=str(T1),
            referenced_tweets=[{**original, "type": "replied_to"}],
        ),
        "author": user(2, "bob"),
        "in_reply_to_user": user(1, "alice"),
        "__twarc": {"retrieved_at": "2026-10-21T00:00:00+00:00"},
    }
    summary = import_file(engine, write_lines(tmp_path / "flat.jsonl", [flat]))
    assert summary.errors == []
    assert (summary.posts_imported, summary.users_imported) == (2, 2)
    with engine.connect() as conn:
        reply = conn.execute(select(posts).where(posts.c.id == T2)).one()
        assert reply.replied_to_id == T1
        names = set(conn.execute(select(users.c.username)).scalars())
    assert names == {"alice", "bob"}
