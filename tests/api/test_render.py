"""Rendering rows as X objects: default fields, each optional field, JSON passed through."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from tollhouse.api.render import P_ID, P_TEXT, POST_ADDERS, envelope, post_renderer, user_renderer
from tollhouse.api.x_fields import TWEET_FIELDS, USER_FIELDS
from tollhouse.corpus.projections import Record

# A post row in projections.POST_COLUMNS order, as the database hands it over.
POST = (
    1800000000000000001,  # id
    42,  # author_id
    "hello @bob #news",  # text
    "2024-05-01T12:30:00.250Z",  # created_at, formatted by the database
    "en",
    1800000000000000000,  # conversation_id
    7,  # in_reply_to_user_id
    1800000000000000000,  # replied_to_id
    None,  # retweeted_id
    1700000000000000000,  # quoted_id
    '{"mentions":[{"start":6,"end":10,"username":"bob"}]}',  # entities (JSON text)
    1,
    2,
    3,
    4,
    5,
    6,
    0,  # possibly_sensitive (SQLite integer)
    "Tollhouse Web",
    "null",  # withheld: JSON null
)
USER = (
    42,
    "alice",
    "Alice",
    "about me",
    None,
    None,
    "https://img/1.png",
    "2020-01-02T03:04:05.000Z",
    1,
    0,
    10,
    20,
    30,
    40,
    None,
    "active",
)


def as_json(value: Any) -> Any:
    return orjson.loads(orjson.dumps(value))


def test_default_post_fields() -> None:
    assert post_renderer(frozenset())(POST) == {
        "id": "1800000000000000001",
        "text": "hello @bob #news",
        "edit_history_tweet_ids": ["1800000000000000001"],
    }


def test_every_post_field() -> None:
    out = as_json(post_renderer(frozenset(TWEET_FIELDS))(POST))
    assert out["author_id"] == "42"
    assert out["created_at"] == "2024-05-01T12:30:00.250Z"
    assert out["conversation_id"] == "1800000000000000000"
    assert out["in_reply_to_user_id"] == "7"
    assert out["referenced_tweets"] == [
        {"type": "quoted", "id": "1700000000000000000"},
        {"type": "replied_to", "id": "1800000000000000000"},
    ]
    assert out["entities"] == {"mentions": [{"start": 6, "end": 10, "username": "bob"}]}
    assert out["public_metrics"] == {
        "retweet_count": 1,
        "reply_count": 2,
        "like_count": 3,
        "quote_count": 4,
        "bookmark_count": 5,
        "impression_count": 6,
    }
    assert out["possibly_sensitive"] is False
    assert out["source"] == "Tollhouse Web"
    assert "withheld" not in out  # JSON null means none
    assert out["edit_controls"] == {
        "edits_remaining": 0,
        "is_edit_eligible": False,
        "editable_until": "2024-05-01T13:30:00.250Z",
    }
    # Names X defines but the corpus has no data for are simply absent.
    assert "context_annotations" not in out and "geo" not in out


def test_users() -> None:
    assert user_renderer(frozenset())(USER) == {"id": "42", "name": "Alice", "username": "alice"}
    out = as_json(user_renderer(frozenset(USER_FIELDS))(USER))
    assert out["created_at"] == "2020-01-02T03:04:05.000Z"
    assert out["verified"] is True and out["protected"] is False
    assert out["public_metrics"] == {
        "followers_count": 10,
        "following_count": 20,
        "tweet_count": 30,
        "listed_count": 40,
    }
    assert out["url"] == "" and "location" not in out
    assert out["profile_image_url"] == "https://img/1.png"


def test_envelope_leaves_out_empty_parts() -> None:
    assert envelope(None, meta={"result_count": 0}) == {"meta": {"result_count": 0}}
    assert envelope([1], {}, [], None) == {"data": [1]}


# The compiled post renderer gives exactly what the one-adder-per-field reference gives, for
# every field set and for rows with and without each optional value (key order included).


def reference_post_renderer(fields: frozenset[str]) -> Callable[[Record], dict[str, Any]]:
    """The plain form of `post_renderer` (one adder call per field): its specification."""
    adders = tuple(adder for name, adder in POST_ADDERS.items() if name in fields)

    def render(row: Record) -> dict[str, Any]:
        post_id = str(row[P_ID])
        out: dict[str, Any] = {
            "id": post_id,
            "text": row[P_TEXT],
            "edit_history_tweet_ids": [post_id],
        }
        for add in adders:
            add(row, out)
        return out

    return render


OPTIONAL = {  # positions in POST of values a row may lack, and what "lacking" looks like
    6: None,  # in_reply_to_user_id
    7: None,  # replied_to_id
    8: None,  # retweeted_id
    9: None,  # quoted_id
    10: None,  # entities
    18: "",  # source
    19: '{"country_codes":["DE"]}',  # withheld present (POST has JSON null)
}


@given(
    fields=st.frozensets(st.sampled_from(TWEET_FIELDS)),
    blanks=st.frozensets(st.sampled_from(sorted(OPTIONAL))),
    sensitive=st.sampled_from([0, 1, True, False]),
)
def test_compiled_renderer_matches_reference(
    fields: frozenset[str], blanks: frozenset[int], sensitive: Any
) -> None:
    row = list(POST)
    for position in blanks:
        row[position] = OPTIONAL[position]
    row[17] = sensitive
    compiled = post_renderer(fields)(tuple(row))
    reference = reference_post_renderer(fields)(tuple(row))
    # Stored JSON is passed through as orjson.Fragment, which compares by identity: compare the
    # bytes clients get (key order included).
    assert orjson.dumps(compiled) == orjson.dumps(reference)
