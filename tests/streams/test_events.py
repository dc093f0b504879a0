"""Events survive the trip through bytes unchanged."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tollhouse.corpus.records import PostRecord, UserRecord
from tollhouse.streams.events import PostDeleted, PostPublished, RulesChanged, decode, encode

words = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)


@given(
    st.integers(1, 2**63 - 1),
    words,
    st.lists(words, max_size=3),
    st.one_of(st.none(), words),
    st.booleans(),
)
def test_post_events_round_trip(
    post_id: int, text: str, tags: list[str], reply_to: str | None, verified: bool
) -> None:
    post = PostRecord(
        post_id,
        5,
        text,
        datetime(2026, 3, 4, 5, 6, 7, 123000, tzinfo=UTC),
        hashtags=tuple(tags),
        entities={"hashtags": [{"start": 0, "end": 1, "tag": t} for t in tags]},
    )
    author = UserRecord(5, "someone", datetime(2020, 1, 1, tzinfo=UTC), verified=verified)
    event = PostPublished(post, author, reply_to, 1.25)
    assert decode(encode(event)) == event


def test_other_events_round_trip_and_garbage_is_refused() -> None:
    deleted = PostDeleted(9, datetime(2026, 1, 1, 12, tzinfo=UTC))
    assert decode(encode(deleted)) == deleted
    assert decode(encode(RulesChanged("17"))) == RulesChanged("17")
    with pytest.raises(ValueError):
        decode(b'{"type": "other"}')
