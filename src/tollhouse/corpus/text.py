"""Tokenisation shared by storage, SQL search and the in-memory matcher.

One definition of a token keeps SQL results and matcher results identical: a token is a maximal
run of Unicode letters and digits (no underscore), lower-cased. Posts store their tokens as
`search_text`, a space-joined string with a leading and trailing space, so that the SQL side never
re-tokenises: SQLite's FTS5 `ascii` tokenizer splits it on the spaces only (our tokens hold no ASCII
punctuation), and PostgreSQL matches phrases with `LIKE '% a b %'` on the same string.
"""

from __future__ import annotations

import re

TOKEN = re.compile(r"[^\W_]+")


def tokenize(text: str) -> list[str]:
    """The tokens of `text`, in order, lower-cased."""
    return TOKEN.findall(text.lower())


def search_text(tokens: list[str]) -> str:
    """The stored form of a token list: ` tok1 tok2 … ` (padded so phrases match at the edges)."""
    return " " + " ".join(tokens) + " " if tokens else " "
