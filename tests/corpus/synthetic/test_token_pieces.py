"""Pre-tokenised pieces: joining their token strings gives exactly the search text of the
concatenated texts, seams between letters (unspaced scripts) included."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tollhouse.corpus.synthetic.token_pieces import Pieces, join_tokens
from tollhouse.corpus.text import search_text, tokenize

# Letters and digits of several scripts, separators, "_", a combining mark (not a token
# character on its own), an emoji with a variation selector, full-width punctuation.
_ALPHABET = "aZé9 _.,!@#$:/-—今日は、。ि्नेمرحبا😂❤️\u200dßİ\n"
_texts = st.text(alphabet=_ALPHABET, max_size=12)


@settings(max_examples=400, deadline=None)
@given(st.lists(_texts, min_size=1, max_size=5))
def test_joined_token_strings_are_the_search_text_of_the_joined_texts(texts: list[str]) -> None:
    pools = tuple(Pieces.of([text]) for text in texts)
    joined = join_tokens(pools, (0,) * len(texts))
    assert joined + " " == search_text(tokenize("".join(texts)))


def test_a_seam_between_letters_joins_the_two_tokens() -> None:
    pools = (Pieces.of(["今日は", "Hello"]), Pieces.of(["", "天気", ", world"]))
    assert join_tokens(pools, (0, 1)) == " 今日は天気"
    assert join_tokens(pools, (1, 2)) == " hello world"
    assert join_tokens(pools, (1, 0)) == " hello"  # an empty text leaves no seam
    assert Pieces.of(["a b", "", "!"]).tokens == [" a b", "", ""]


def test_a_capital_sigma_is_refused() -> None:
    # "ΟΔΟΣ".lower() ends in a final sigma, "ΟΔΟΣΑ".lower() does not: no piece can know.
    with pytest.raises(ValueError, match="sigma"):
        Pieces.of(["ΟΔΟΣ"])
