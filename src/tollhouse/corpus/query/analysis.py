"""What a query demands of every post it matches, for indexing many queries (stream rules).

Keys are strings in one namespace: a bare token (`apple`), or a facet with its sigil (`@alice`,
`#tag`, `$aapl`). `terms_required(node)` ⊆ `post_keys(post)` for every post the query matches,
so a rule index can file a rule under any one of its required keys and only test the rules filed
under keys the post carries (plus the rules with no required key).

`require_standalone(node)` refuses the queries X refuses for matching nearly every post.
"""

from __future__ import annotations

from tollhouse.corpus.query.ast import And, Field, Node, Not, Or, Term
from tollhouse.corpus.query.errors import QuerySyntaxError
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


# X's build-a-query and build-a-rule guides (xdevplatform/docs, x-api/posts/search/integrate/
# build-a-query.mdx and x-api/posts/filtered-stream/integrate/build-a-rule.mdx):
#   "Conjunction-required operators cannot be used by themselves in a query; they can only be
#    used when at least one standalone operator is included. This is because using these
#    operators alone would match an extremely high volume of Posts."
#   "Negated operators cannot be used alone"
# The operators list marks keywords, phrases, #, @, $, from:, to:, url: and conversation_id:
# standalone, and is:…, has:… and lang: conjunction-required. X answers such a rule with these
# two details (its rule API's responses quote them, position 1 being the rule's first character):
NON_NEGATION_TERM = "Rules must contain a non-negation term (at position 1)"
POSITIVE_CLAUSE = "Rules must contain at least one positive, non-stopword clause (at position 1)"


def _anchored(node: Node) -> bool:
    """Whether every post `node` matches carries one of its positive standalone clauses.

    An `Or` needs it in each alternative: `apple OR -zzzz` holds a standalone clause, yet its
    second alternative alone matches nearly every post, which is what X's rule exists to stop.
    """
    if isinstance(node, Term):
        return True
    if isinstance(node, Field):
        return node.name != "lang"
    if isinstance(node, And):
        return any(_anchored(c) for c in node.children)
    if isinstance(node, Or):
        return all(_anchored(c) for c in node.children)
    return False  # Not, Flag: conjunction-required


def _has_positive_leaf(node: Node) -> bool:
    if isinstance(node, And | Or):
        return any(_has_positive_leaf(c) for c in node.children)
    return not isinstance(node, Not)


def require_standalone(node: Node) -> None:
    """Refuse a query or rule that X refuses for matching too much: one made only of negations
    or only of conjunction-required operators (in any of its `OR` alternatives).

    Raises `QuerySyntaxError` with X's details; search, counts and stream rules all call it, and
    the parser does not, so that stored rules and internal queries still parse.
    """
    if _anchored(node):
        return
    details: tuple[str, ...] = (POSITIVE_CLAUSE,)
    if not _has_positive_leaf(node):
        details = (NON_NEGATION_TERM, POSITIVE_CLAUSE)
    raise QuerySyntaxError(", ".join(details), 0, details)
