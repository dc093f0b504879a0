"""Pagination tokens: round trip, and anything else is refused; the kinds do not mix; a token
signed for one endpoint or query is refused by any other."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tollhouse.api import pagination

B = pagination.Binding.of(b"test key", "/2/tweets/search/recent", "lantern")


@given(st.sampled_from(["next", "previous"]), st.integers(min_value=0, max_value=2**63 - 1))
def test_round_trip(direction: str, post_id: int) -> None:
    token = pagination.encode(B, direction, post_id)  # type: ignore[arg-type]
    assert token.isascii() and "=" not in token
    assert pagination.decode(B, token) == pagination.PageToken(direction, post_id)  # type: ignore[arg-type]


@given(
    st.sampled_from(["next", "previous"]),
    st.integers(min_value=0, max_value=2**63 - 1),
    st.integers(min_value=0, max_value=2**32 - 1),
)
def test_round_trip_with_depth(direction: str, post_id: int, depth: int) -> None:
    token = pagination.encode(B, direction, post_id, depth)  # type: ignore[arg-type]
    assert token.isascii() and "=" not in token
    assert pagination.decode(B, token) == pagination.PageToken(direction, post_id, depth)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        pagination.decode_counts(B, token)


@given(st.integers(min_value=0, max_value=2**63 - 1))
def test_counts_round_trip_and_kinds_do_not_mix(page_end_ms: int) -> None:
    token = pagination.encode_counts(B, page_end_ms)
    assert pagination.decode_counts(B, token) == page_end_ms
    with pytest.raises(ValueError):
        pagination.decode(B, token)
    with pytest.raises(ValueError):
        pagination.decode_counts(B, pagination.encode(B, "next", page_end_ms))


@given(st.text(max_size=40))
def test_arbitrary_text_is_refused_or_canonical(text: str) -> None:
    try:
        decoded = pagination.decode(B, text)
    except ValueError:
        return
    # The only strings accepted are the ones encode produces.
    assert pagination.encode(B, decoded.direction, decoded.id, decoded.depth) == text


@given(st.binary(min_size=18, max_size=28))
def test_arbitrary_bytes_are_refused_or_canonical(raw: bytes) -> None:
    text = base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
    try:
        decoded = pagination.decode(B, text)
    except ValueError:
        try:
            assert pagination.encode_counts(B, pagination.decode_counts(B, text)) == text
        except ValueError:
            return
        return
    assert pagination.encode(B, decoded.direction, decoded.id, decoded.depth) == text


@given(st.integers(min_value=0, max_value=2**63 - 1), st.integers(min_value=0, max_value=27))
def test_single_character_changes_are_refused(post_id: int, position: int) -> None:
    token = pagination.encode(B, "next", post_id)
    replacement = "A" if token[position] != "A" else "B"
    mangled = token[:position] + replacement + token[position + 1 :]
    with pytest.raises(ValueError):
        pagination.decode(B, mangled)


@given(
    st.integers(min_value=0, max_value=2**63 - 1),
    st.integers(min_value=0, max_value=2**32 - 1),
    st.integers(min_value=0, max_value=33),
)
def test_single_character_changes_to_depth_tokens_are_refused(
    post_id: int, depth: int, position: int
) -> None:
    token = pagination.encode(B, "previous", post_id, depth)
    replacement = "A" if token[position] != "A" else "B"
    mangled = token[:position] + replacement + token[position + 1 :]
    with pytest.raises(ValueError):
        pagination.decode(B, mangled)


@pytest.mark.parametrize("bad", ["", "abc", "bmV4dA", "!!!!", "é" * 12])
def test_junk_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        pagination.decode(B, bad)
    with pytest.raises(ValueError):
        pagination.decode_counts(B, bad)


@given(
    st.sampled_from(["next", "previous"]),
    st.integers(min_value=0, max_value=2**63 - 1),
    st.one_of(st.none(), st.integers(min_value=0, max_value=2**32 - 1)),
)
def test_a_token_is_refused_by_another_endpoint_query_or_key(
    direction: str, post_id: int, depth: int | None
) -> None:
    token = pagination.encode(B, direction, post_id, depth)  # type: ignore[arg-type]
    others = [
        pagination.Binding.of(b"test key", "/2/tweets/search/all", "lantern"),
        pagination.Binding.of(b"test key", "/2/tweets/search/recent", "lanterns"),
        pagination.Binding.of(b"test key", "/2/users/:id/tweets", "lantern"),
        pagination.Binding.of(b"test key", "/2/tweets/search/recent", "lan", "tern"),
        pagination.Binding.of(b"other key", "/2/tweets/search/recent", "lantern"),
    ]
    for other in others:
        with pytest.raises(ValueError):
            pagination.decode(other, token)
    assert pagination.decode(B, token).id == post_id
