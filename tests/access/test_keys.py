from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from tollhouse.access import keys

TOKEN = keys.new_token().token


def test_token_shape_and_hash() -> None:
    minted = keys.new_token()
    assert minted.token.startswith("th_live_")
    assert len(minted.token) == keys.TOKEN_LENGTH
    assert keys.parse_token(minted.token) == minted.key_id
    assert minted.token_hash == keys.hash_token(minted.token)
    assert minted.token not in minted.token_hash
    assert keys.token_matches(minted.token, minted.token_hash)
    assert not keys.token_matches(keys.new_token().token, minted.token_hash)


def test_tokens_are_unique() -> None:
    assert len({keys.new_token().token for _ in range(200)}) == 200


@given(
    position=st.integers(min_value=len(keys.PREFIX), max_value=keys.TOKEN_LENGTH - 1),
    replacement=st.sampled_from(keys.ALPHABET),
)
def test_any_single_mistyped_character_fails_the_checksum(position: int, replacement: str) -> None:
    if TOKEN[position] == replacement:
        return
    mistyped = TOKEN[:position] + replacement + TOKEN[position + 1 :]
    assert keys.parse_token(mistyped) is None


@given(st.text(alphabet=string.printable, max_size=80))
def test_arbitrary_text_is_not_a_token(text: str) -> None:
    assert keys.parse_token(text) is None


@given(st.integers(min_value=0, max_value=keys.TOKEN_LENGTH - 1))
def test_truncated_or_swapped_tokens_fail(cut: int) -> None:
    assert keys.parse_token(TOKEN[:cut]) is None
    assert keys.parse_token(TOKEN.replace("th_live_", "th_test_")) is None
