"""The rule index: match a post against only the rules that could match it.

Every rule is compiled once (`tollhouse.corpus.query.matcher.compile_matcher`) and filed under an
*anchor*: a set of keys such that every post the rule matches carries at least one of them (a
keyword, `from:` user, mention, hashtag, cashtag, conversation, reply-to user, language or an
`is:`/`has:` flag). A post looks up its own keys and runs only the matchers filed under them, so its
cost grows with the rules that share its keys, not with all rules. Rules without an anchor (only
negations, `url:`) sit in a small set that is checked for every post. Of the possible anchors the
rarest is chosen, by the key frequencies the index samples from the posts it matches.

Anchors (why they are exact):
- `And`: any child's anchor will do (every match satisfies every child); the cheapest is chosen.
- `Or`: the union of the children's anchors, if every child has one.
- keyword or phrase: one of its tokens (a phrase match contains each of its tokens).
- a flag: itself (a post carries the key of every flag that is true for it).
- `Not`, `url:` (a substring test): no anchor.
Key strings cannot collide: tokens never contain `:`, `#`, `@` or `$`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
    """A rule ready for the index: its matcher and its anchor keys (None: always checked).

    `exact`: carrying an anchor key is the whole rule (a lone keyword, `from:`, `#`, `@`, `$`,
    `lang:`, `conversation_id:`, `to:` or flag), so the matcher need not run.
    """

    matcher: Matcher
    keys: frozenset[str] | None
    exact: bool = False


def _is_exact(node: Node) -> bool:
    if isinstance(node, Term):
        return len(node.tokens) == 1
    if isinstance(node, Field):
        return node.name != "url"
    return isinstance(node, Flag)


KeyCost = Callable[[str], float]


def _token_cost(token: str) -> float:
    if token in _COMMON:
        return 100.0
    if len(token) <= 2:
        return 30.0
    if token.isdigit():
        return 5.0
    return 10.0 / len(token)


def guessed_cost(key: str) -> float:
    """How common `key` looks when no posts were observed: facets are rare, languages and flags
    common, short and stop words common, long words rare."""
    if key.startswith(("lang:", "is:", "has:")):
        return _COST_LANGUAGE
    if key[0] in "#@$" or ":" in key:
        return _COST_FACET
    return _token_cost(key)


def _user_keys(prefix: str, value: str) -> frozenset[str]:
    keys = {f"{prefix}:{value}"}
    # An all-digit from:/to: value also names a user id (see the matcher).
    if value.isascii() and value.isdigit() and int(value) < 2**63:
        keys.add(f"{prefix}-id:{int(value)}")
    return frozenset(keys)


def _keys(keys: frozenset[str], cost: KeyCost) -> tuple[frozenset[str], float]:
    return keys, sum(cost(k) for k in keys)


def _anchor(node: Node, cost: KeyCost) -> tuple[frozenset[str], float] | None:
    """The keys one of which every post matching `node` carries, and their cost; None if none."""
    if isinstance(node, Term):
        if not node.tokens:
            return None
        token = min(node.tokens, key=lambda t: (cost(t), -len(t)))
        return frozenset((token,)), cost(token)
    if isinstance(node, Field):
        name, value = node.name, node.value
        if name in ("from", "to"):
            return _keys(_user_keys(name, value), cost)
        if name == "lang":
            return _keys(frozenset((f"lang:{value}",)), cost)
        if name == "conversation_id":
            return _keys(frozenset((f"conv:{int(value)}",)), cost)
        if name == "mention":
            return _keys(frozenset((f"@{value}",)), cost)
        if name == "hashtag":
            return _keys(frozenset((f"#{value}",)), cost)
        if name == "cashtag":
            return _keys(frozenset((f"${value}",)), cost)
        return None  # url: is a substring test
    if isinstance(node, Flag):
        return _keys(frozenset((node.name,)), cost)
    if isinstance(node, Not):
        return None
    if isinstance(node, And):
        best: tuple[frozenset[str], float] | None = None
        for child in node.children:
            found = _anchor(child, cost)
            if found is not None and (best is None or found[1] < best[1]):
                best = found
        return best
    keys: set[str] = set()
    total = 0.0
    for child in node.children:
        found = _anchor(child, cost)
        if found is None:
            return None
        keys |= found[0]
        total += found[1]
    return frozenset(keys), total


def compile_rule(node: Node, cost: KeyCost = guessed_cost) -> CompiledRule:
    """Compile `node` once for the index, anchored on its cheapest keys by `cost` (pass
    `RuleIndex.key_cost` to use the key frequencies the index has observed)."""
    found = _anchor(node, cost)
    if found is None:
        return CompiledRule(compile_matcher(node), None)
    return CompiledRule(compile_matcher(node), found[0], _is_exact(node))


def anchor_keys(post: MatchablePost) -> Iterator[str]:
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
    if post.is_retweet:
        yield "is:retweet"
    if post.is_reply:
        yield "is:reply"
    if post.is_quote:
        yield "is:quote"
    if post.author_verified:
        yield "is:verified"
    if post.has_links:
        yield "has:links"
    if post.has_mentions:
        yield "has:mentions"
    if post.has_hashtags:
        yield "has:hashtags"
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
    """Rules filed by anchor key; `match` gives the ids of the rules a post matches.

    It also samples how often each key occurs in the posts it matches (`key_cost`), so that rules
    compiled later are anchored on the keys that are actually rare in this traffic.
    """

    def __init__(self, sample_every: int = 16, max_tracked_keys: int = 200_000) -> None:
        # Anchor key → rule id → its matcher, or None when the key alone decides (`exact`).
        self._by_key: dict[str, dict[int, Matcher | None]] = {}
        self._always: dict[int, Matcher] = {}
        self._keys: dict[int, frozenset[str] | None] = {}
        self._sample_every = sample_every
        self._max_tracked = max_tracked_keys
        self._seen: dict[str, int] = {}
        self._observed = 0
        self._countdown = sample_every
        self._multi_key_rules = 0

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
        matcher = None if rule.exact else rule.matcher
        if len(rule.keys) > 1:
            self._multi_key_rules += 1
        for key in rule.keys:
            self._by_key.setdefault(key, {})[rule_id] = matcher

    def remove(self, rule_id: int) -> None:
        if rule_id not in self._keys:
            return
        keys = self._keys.pop(rule_id)
        if keys is None:
            self._always.pop(rule_id, None)
            return
        if len(keys) > 1:
            self._multi_key_rules -= 1
        for key in keys:
            bucket = self._by_key.get(key)
            if bucket is not None:
                bucket.pop(rule_id, None)
                if not bucket:
                    del self._by_key[key]

    def observe(self, post: MatchablePost) -> None:
        """Count the keys of `post` towards the key frequencies."""
        seen = self._seen
        for key in anchor_keys(post):
            seen[key] = seen.get(key, 0) + 1
        self._observed += 1
        if len(seen) > self._max_tracked:
            # Halve every count and forget the keys that reach zero: bounded memory, recent
            # traffic weighs more.
            self._seen = {k: v // 2 for k, v in seen.items() if v > 1}
            self._observed //= 2

    def key_cost(self, key: str) -> float:
        """Posts per thousand observed that carry `key` (a guess until 1000 were observed)."""
        if self._observed < 1000:
            return guessed_cost(key)
        return (self._seen.get(key, 0) + 0.5) * 1000.0 / self._observed

    def match(self, post: MatchablePost) -> list[int]:
        """Ids of the rules `post` matches (each once), in no particular order."""
        self._countdown -= 1
        if self._countdown <= 0:
            self._countdown = self._sample_every
            self.observe(post)
        out = [rule_id for rule_id, matcher in self._always.items() if matcher(post)]
        get = self._by_key.get
        for key in anchor_keys(post):
            bucket = get(key)
            if bucket is not None:
                for rule_id, matcher in bucket.items():
                    if matcher is None or matcher(post):
                        out.append(rule_id)
        if self._multi_key_rules:
            # A rule filed under several keys (an OR) is reached once per key the post has.
            out = list(dict.fromkeys(out))
        return out
