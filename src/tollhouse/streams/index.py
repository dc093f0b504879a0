"""The rule index: match a post against only the rules that could match it.

Every rule is compiled once (`tollhouse.corpus.query.matcher.compile_matcher`) and filed under an
*anchor*: a set of keys such that every post the rule matches carries at least one of them (a
keyword, `from:` user, mention, hashtag, cashtag, conversation, reply-to user or language). A post
looks up its own keys and runs only the matchers filed under them, so its cost grows with the rules
that share its words, not with all rules. Rules without an anchor (only negations, `is:`/`has:`,
`url:`) sit in a small set that is checked for every post.

Anchors (why they are exact):
- `And`: any child's anchor will do (every match satisfies every child); the cheapest is chosen.
- `Or`: the union of the children's anchors, if every child has one.
- keyword or phrase: one of its tokens (a phrase match contains each of its tokens).
- `Not`, flags, `url:` (a substring test): no anchor.
Key strings cannot collide: tokens never contain `:`, `#`, `@` or `$`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from tollhouse.corpus.query.ast import And, Field, Flag, Node, Not, Term
from tollhouse.corpus.query.matcher import MatchablePost, Matcher, compile_matcher
from tollhouse.streams.events import PostPublished

# Words so common that a rule anchored on them would be tried for most posts.
_COMMON = frozenset(
    (
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "from",
        "has",
        "have",
        "i",
        "if",
        "in",
        "is",
        "it",
        "its",
        "my",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "so",
        "that",
        "the",
        "their",
        "this",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "will",
        "with",
        "you",
        "your",
        "rt",
        "https",
        "http",
        "co",
        "amp",
        "just",
        "like",
        "can",
        "get",
        "one",
        "all",
        "do",
        "me",
        "new",
    )
)
# Relative cost of an anchor key: roughly how many posts in a thousand carry it.
_COST_LANGUAGE = 300.0
_COST_FACET = 1.0


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule ready for the index: its matcher and its anchor keys (None: always checked)."""

    matcher: Matcher
    keys: frozenset[str] | None


def _token_cost(token: str) -> float:
    if token in _COMMON:
        return 100.0
    if len(token) <= 2:
        return 30.0
    if token.isdigit():
        return 5.0
    return 10.0 / len(token)


def _user_keys(prefix: str, value: str) -> frozenset[str]:
    keys = {f"{prefix}:{value}"}
    # An all-digit from:/to: value also names a user id (see the matcher).
    if value.isascii() and value.isdigit() and int(value) < 2**63:
        keys.add(f"{prefix}-id:{int(value)}")
    return frozenset(keys)


def _anchor(node: Node) -> tuple[frozenset[str], float] | None:
    """The keys one of which every post matching `node` carries, and their cost; None if none."""
    if isinstance(node, Term):
        if not node.tokens:
            return None
        token = min(node.tokens, key=_token_cost)
        return frozenset((token,)), _token_cost(token)
    if isinstance(node, Field):
        name, value = node.name, node.value
        if name in ("from", "to"):
            return _user_keys(name, value), _COST_FACET
        if name == "lang":
            return frozenset((f"lang:{value}",)), _COST_LANGUAGE
        if name == "conversation_id":
            return frozenset((f"conv:{int(value)}",)), _COST_FACET
        if name == "mention":
            return frozenset((f"@{value}",)), _COST_FACET
        if name == "hashtag":
            return frozenset((f"#{value}",)), _COST_FACET
        if name == "cashtag":
            return frozenset((f"${value}",)), _COST_FACET
        return None  # url: is a substring test
    if isinstance(node, (Flag, Not)):
        return None
    if isinstance(node, And):
        best: tuple[frozenset[str], float] | None = None
        for child in node.children:
            found = _anchor(child)
            if found is not None and (best is None or found[1] < best[1]):
                best = found
        return best
    keys: set[str] = set()
    cost = 0.0
    for child in node.children:
        found = _anchor(child)
        if found is None:
            return None
        keys |= found[0]
        cost += found[1]
    return frozenset(keys), cost


def compile_rule(node: Node) -> CompiledRule:
    """Compile `node` once for the index."""
    found = _anchor(node)
    return CompiledRule(compile_matcher(node), None if found is None else found[0])


def post_keys(post: MatchablePost) -> Iterator[str]:
    """Every anchor key `post` carries (the counterpart of `_anchor`)."""
    yield from post.tokens
    if post.author_username is not None:
        yield f"from:{post.author_username}"
    yield f"from-id:{post.author_id}"
    if post.in_reply_to_user_id is not None:
        yield f"to-id:{post.in_reply_to_user_id}"
        if post.in_reply_to_username is not None:
            yield f"to:{post.in_reply_to_username}"
    yield f"lang:{post.lang}"
    yield f"conv:{post.conversation_id}"
    for mention in post.mentions:
        yield f"@{mention}"
    for hashtag in post.hashtags:
        yield f"#{hashtag}"
    for cashtag in post.cashtags:
        yield f"${cashtag}"


def matchable(event: PostPublished) -> MatchablePost:
    """The matcher's view of a published post."""
    return MatchablePost.from_record(event.post, event.author, event.reply_to_username)


class RuleIndex:
    """Rules filed by anchor key; `match` gives the ids of the rules a post matches."""

    def __init__(self) -> None:
        self._by_key: dict[str, dict[int, Matcher]] = {}
        self._always: dict[int, Matcher] = {}
        self._keys: dict[int, frozenset[str] | None] = {}

    def __len__(self) -> int:
        return len(self._keys)

    @property
    def always_checked(self) -> int:
        """How many rules have no anchor (checked for every post)."""
        return len(self._always)

    def add(self, rule_id: int, rule: CompiledRule) -> None:
        """File `rule` under `rule_id` (replacing a rule with that id)."""
        if rule_id in self._keys:
            self.remove(rule_id)
        self._keys[rule_id] = rule.keys
        if rule.keys is None:
            self._always[rule_id] = rule.matcher
            return
        for key in rule.keys:
            self._by_key.setdefault(key, {})[rule_id] = rule.matcher

    def remove(self, rule_id: int) -> None:
        keys = self._keys.pop(rule_id, None)
        if keys is None:
            self._always.pop(rule_id, None)
            return
        for key in keys:
            bucket = self._by_key.get(key)
            if bucket is not None:
                bucket.pop(rule_id, None)
                if not bucket:
                    del self._by_key[key]

    def match(self, post: MatchablePost) -> list[int]:
        """Ids of the rules `post` matches (each once), in no particular order."""
        out = [rule_id for rule_id, matcher in self._always.items() if matcher(post)]
        by_key = self._by_key
        tried: set[int] = set()
        for key in post_keys(post):
            bucket = by_key.get(key)
            if bucket is None:
                continue
            for rule_id, matcher in bucket.items():
                if rule_id in tried:
                    continue
                tried.add(rule_id)
                if matcher(post):
                    out.append(rule_id)
        return out
