"""What a query demands of every post it matches, for indexing many queries (stream rules).

Keys are strings in one namespace: a bare token (`apple`), or a facet with its sigil (`@alice`,
`#tag`, `$aapl`). `terms_required(node)` ⊆ `post_keys(post)` for every post the query matches,
so a rule index can file a rule under any one of its required keys and only test the rules filed
under keys the post carries (plus the rules with no required key).
"""

from __future__ import annotations

from tollhouse.corpus.query.ast import And, Field, Node, Not, Or, Term
from tollhouse.corpus.query.matcher import MatchablePost

_SIGILS = {"mention": "@", "hashtag": "#", "cashtag": "$"}


def terms_required(node: Node) -> frozenset[str]:
    """Keys (tokens and `@`/`#`/`$` facets) that every post matching `node` carries."""
    if isinstance(node, Term):
        return frozenset(node.tokens)
    if isinstance(node, Field):
        sigil = _SIGILS.get(node.name)
        return frozenset((sigil + node.value,)) if sigil else frozenset()
    if isinstance(node, And):
        return frozenset().union(*(terms_required(c) for c in node.children))
    if isinstance(node, Or):
        first, *rest = (terms_required(c) for c in node.children)
        return first.intersection(*rest)
    if isinstance(node, Not):
        return frozenset()
    return frozenset()  # Flag: a property, not a key


def post_keys(post: MatchablePost) -> frozenset[str]:
    """The keys a post carries, in the namespace of `terms_required`."""
    return post.tokens.union(
        ["@" + m for m in post.mentions],
        ["#" + h for h in post.hashtags],
        ["$" + c for c in post.cashtags],
    )
