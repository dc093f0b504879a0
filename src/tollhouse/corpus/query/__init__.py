"""The search query language: X's search operators parsed once into a syntax tree, then compiled
to SQL (`sql.compile_where`, SQLite FTS5 or PostgreSQL token arrays) or to an in-memory matcher
(`matcher.compile_matcher`, for filtered streams). Both compilers give the same answer for every
query on every post; a property test holds them to it.
"""

from __future__ import annotations

from tollhouse.corpus.query.analysis import post_keys, require_standalone, terms_required
from tollhouse.corpus.query.ast import (
    And,
    Field,
    Flag,
    Node,
    Not,
    Or,
    Term,
    all_of,
    any_of,
    negate,
    render,
)
from tollhouse.corpus.query.errors import QuerySyntaxError
from tollhouse.corpus.query.parser import DEFAULT_MAX_LENGTH, MAX_DEPTH, parse

__all__ = [
    "DEFAULT_MAX_LENGTH",
    "MAX_DEPTH",
    "And",
    "Field",
    "Flag",
    "Node",
    "Not",
    "Or",
    "QuerySyntaxError",
    "Term",
    "all_of",
    "any_of",
    "negate",
    "parse",
    "post_keys",
    "render",
    "require_standalone",
    "terms_required",
]
