"""Search text built from pre-tokenised pieces instead of tokenising every generated post.

A generated post is a concatenation of pieces drawn from fixed pools (a text fragment, an
ending, " #tag", " @name", a link…). Tokenising the whole text (`corpus.text.tokenize`:
lower-case, then a regex) cost 4 to 5 µs per post, a quarter of generation; joining the
pieces' pre-computed token strings costs a few string concatenations.

A piece's token string is what `search_text` makes of its tokens without the trailing space:
" tok1 tok2" ("" with no tokens), so that a post's search text is its pieces' strings joined,
plus " ". Tokens are maximal runs of letters and digits, so two neighbouring pieces' tokens
stay apart unless the first piece ends and the second starts with a letter or digit (as in
Japanese, written without spaces): then the two tokens at the seam are one, and the second
string loses its leading space. Lower-casing is per character except for the Greek final
sigma, which depends on the next character, so texts holding "Σ" are refused; the tests
compare every generated post's search text with `search_text(tokenize(text))`.
"""

from __future__ import annotations

from dataclasses import dataclass

from tollhouse.corpus.text import TOKEN


@dataclass(frozen=True, slots=True)
class Pieces:
    """A pool of texts, pre-tokenised: for each text its token string, whether it starts
    with a letter or digit (`opens`) and whether it ends with one (`closes`)."""

    tokens: list[str]
    opens: list[bool]
    closes: list[bool]
    empty: list[bool]  # the text is "": no seam at all, its neighbours meet

    @classmethod
    def of(cls, texts: list[str] | tuple[str, ...]) -> Pieces:
        tokens, opens, closes = [], [], []
        find = TOKEN.findall  # = tokenize, with the lower-cased text kept for the edges
        for text in texts:
            if "Σ" in text:  # lower-cased by the next character, possibly another piece's
                raise ValueError(f"{text!r}: a capital sigma cannot be pre-tokenised alone")
            lower = text.lower()
            found = find(lower)
            if not found:
                tokens.append("")
                opens.append(False)
                closes.append(False)
                continue
            tokens.append(" " + " ".join(found))
            opens.append(lower.startswith(found[0]))
            closes.append(lower.endswith(found[-1]))
        return cls(tokens, opens, closes, [not text for text in texts])


def join_tokens(pools: tuple[Pieces, ...], picks: tuple[int, ...]) -> str:
    """The token string of the texts `pools[i]`'s `picks[i]`-th, concatenated in order."""
    out = ""
    closes = False
    for pool, k in zip(pools, picks, strict=True):
        if pool.empty[k]:
            continue
        tokens = pool.tokens[k]
        out += tokens[1:] if closes and pool.opens[k] else tokens
        closes = pool.closes[k]
    return out
