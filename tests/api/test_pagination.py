"""Pagination tokens: round trip, and anything else is refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tollhouse.api import pagination


@given(st.sampled_from(["next", "previous"]), st.integers(min_value=0, max_value=2**63 - 1))
def test_round_trip(direction: str, post_id: int) -> None:
    token = pagination.encode(direction, post_id)  # type: ignore[arg-type]
    assert token.isascii() and "=" not in token
    assert pagination.decode(token) == pagination.PageToken(direction, post_id)  # type: ignore[arg-type]


@given(st.text(max_size=40))
def test_arbitrary_text_is_refused_or_canonical(text: str) -> None:
    try:
        decoded = pagination.decode(text)
    except ValueError:
        return
    # The only strings accepted are the ones encode produces.
    assert pagination.encode(decoded.direction, decoded.id) == text


@given(st.integers(min_value=0, max_value=2**63 - 1), st.integers(min_value=0, max_value=11))
def test_single_character_changes_are_refused(post_id: int, position: int) -> None:
    token = pagination.encode("next", post_id)
    replacement = "A" if token[position] != "A" else "B"
    mangled = token[:position] + replacement + token[position + 1 :]
    with pytest.raises(ValueError):
        pagination.decode(mangled)


@pytest.mark.parametrize("bad", ["", "abc", "bmV4dA", "!!!!", "é" * 12])
def test_junk_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        pagination.decode(bad)
