"""Query → a predicate over posts held in memory, for filtered streams.

`compile_matcher` turns the syntax tree into nested closures once; calling the result does no
parsing, no allocation beyond the call and no normalisation: `MatchablePost` carries every value
already in the form the syntax tree uses (lower-cased, tokenised), computed once per post.

The semantics are exactly those of `tollhouse.corpus.query.sql` (a property test holds them
together): facets and flags are derived by the same rules `tollhouse.corpus.store` stores them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter

from tollhouse.corpus.query.ast import And, Field, Flag, Node, Not, Or, Term, user_id_of
from tollhouse.corpus.records import PostRecord, UserRecord
from tollhouse.corpus.text import search_text, tokenize

Matcher = Callable[["MatchablePost"], bool]

FACET_VALUE_LENGTH = 512  # post_facets.value is String(512); the store cuts values to it
# SQLite's lower() and PostgreSQL's lower(… COLLATE "C") fold ASCII letters only; so do we.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True, slots=True)
class MatchablePost:
    """What the matcher needs to know about one post, normalised once."""

    id: int
    author_id: int
    author_username: str | None  # lower-cased; None when the author is unknown
    author_verified: bool
    tokens: frozenset[str]
    search_text: str  # " tok1 tok2 … ", as stored; phrases are substrings of it
    lang: str  # ASCII-lower-cased
    conversation_id: int
    in_reply_to_user_id: int | None
    in_reply_to_username: str | None  # lower-cased
    is_retweet: bool
    is_reply: bool
    is_quote: bool
    has_links: bool
    has_mentions: bool
    has_hashtags: bool
    mentions: frozenset[str]
    hashtags: frozenset[str]
    cashtags: frozenset[str]
    urls: tuple[str, ...]

    @classmethod
    def from_record(
        cls, post: PostRecord, author: UserRecord | None, in_reply_to_username: str | None
    ) -> MatchablePost:
        """Build from a post, its author (None if unknown) and the username of the user it
        replies to (the user with id `post.in_reply_to_user_id`; None if unknown or no reply)."""
        tokens = tokenize(post.text)
        reply_to = post.in_reply_to_user_id
        return cls(
            id=post.id,
            author_id=post.author_id,
            author_username=author.username.lower() if author is not None else None,
            author_verified=author.verified if author is not None else False,
            tokens=frozenset(tokens),
            search_text=search_text(tokens),
            lang=(post.lang or "und").translate(_ASCII_LOWER),
            conversation_id=post.conversation,
            in_reply_to_user_id=reply_to,
            in_reply_to_username=(
                in_reply_to_username.lower()
                if in_reply_to_username is not None and reply_to is not None
                else None
            ),
            is_retweet=post.retweeted_id is not None,
            is_reply=post.replied_to_id is not None,
            is_quote=post.quoted_id is not None,
            has_links=bool(post.urls),
            has_mentions=bool(post.mentions),
            has_hashtags=bool(post.hashtags),
            mentions=_facet_values(post.mentions),
            hashtags=_facet_values(post.hashtags),
            cashtags=_facet_values(post.cashtags),
            urls=tuple(sorted(_facet_values(post.urls))),
        )


def _facet_values(values: tuple[str, ...]) -> frozenset[str]:
    # The rule of `tollhouse.corpus.store.facet_rows` (lower-cased, cut to the column's 512),
    # inlined: calling it builds a dict per value, and this runs once per ingested post.
    return frozenset([v.lower()[:FACET_VALUE_LENGTH] for v in values]) if values else _NONE


_NONE: frozenset[str] = frozenset()


def compile_matcher(node: Node) -> Matcher:
    """A predicate equivalent to `node`; compile once, then call it for every post."""
    if isinstance(node, Term):
        return _term(node)
    if isinstance(node, Field):
        return _field(node)
    if isinstance(node, Flag):
        return _FLAGS[node.name]
    if isinstance(node, Not):
        inner = compile_matcher(node.child)
        return lambda post: not inner(post)
    if isinstance(node, And):
        return _all(node)
    return _any(node)


def _term(node: Term) -> Matcher:
    if len(node.tokens) == 1:
        token = node.tokens[0]
        return lambda post: token in post.tokens
    needle = search_text(list(node.tokens))
    return lambda post: needle in post.search_text


def _field(node: Field) -> Matcher:
    value = node.value
    name = node.name
    if name == "from":
        uid = user_id_of(value)
        if uid is None:
            return lambda post: post.author_username == value
        return lambda post: post.author_id == uid or post.author_username == value
    if name == "to":
        to_uid = user_id_of(value)
        return lambda post: (
            post.in_reply_to_user_id is not None
            and (post.in_reply_to_user_id == to_uid or post.in_reply_to_username == value)
        )
    if name == "lang":
        return lambda post: post.lang == value
    if name == "conversation_id":
        conversation = int(value)
        return lambda post: post.conversation_id == conversation
    if name == "url":
        return lambda post: any(value in url for url in post.urls)
    if name == "mention":
        return lambda post: value in post.mentions
    if name == "hashtag":
        return lambda post: value in post.hashtags
    return lambda post: value in post.cashtags


_FLAGS: dict[str, Matcher] = {
    "is:retweet": attrgetter("is_retweet"),
    "is:reply": attrgetter("is_reply"),
    "is:quote": attrgetter("is_quote"),
    "is:verified": attrgetter("author_verified"),
    "has:links": attrgetter("has_links"),
    "has:mentions": attrgetter("has_mentions"),
    "has:hashtags": attrgetter("has_hashtags"),
}


def _keywords(children: tuple[Node, ...]) -> tuple[frozenset[str], list[Node]]:
    """Split single-token keywords (checked together as one set operation) from the rest."""
    words = frozenset(c.tokens[0] for c in children if isinstance(c, Term) and len(c.tokens) == 1)
    rest = [c for c in children if not (isinstance(c, Term) and len(c.tokens) == 1)]
    return words, rest


def _all(node: And) -> Matcher:
    words, rest = _keywords(node.children)
    parts = [compile_matcher(c) for c in rest]
    if len(words) > 1:
        parts.insert(0, lambda post: words <= post.tokens)
    elif words:
        parts.insert(0, _term(Term(tuple(words))))
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        first, second = parts
        return lambda post: first(post) and second(post)
    checks = tuple(parts)

    def every(post: MatchablePost) -> bool:
        # A plain loop: a generator inside all() costs an allocation per post.
        for check in checks:  # noqa: SIM110
            if not check(post):
                return False
        return True

    return every


def _any(node: Or) -> Matcher:
    words, rest = _keywords(node.children)
    parts = [compile_matcher(c) for c in rest]
    if len(words) > 1:
        parts.insert(0, lambda post: not words.isdisjoint(post.tokens))
    elif words:
        parts.insert(0, _term(Term(tuple(words))))
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        first, second = parts
        return lambda post: first(post) or second(post)
    checks = tuple(parts)

    def some(post: MatchablePost) -> bool:
        for check in checks:  # noqa: SIM110 (see every)
            if check(post):
                return True
        return False

    return some
