"""The query matcher: posts/s per rule, compiled closures side by side with walking the tree.

    .venv/bin/python bench/query_matcher.py [--quick]

1. parse     queries/s for 10 representative queries, and for one 512-character query.
2. prepare   `MatchablePost.from_record` posts/s (done once per post by the stream ingest).
3. match     rule evaluations/s for each of 10 rules over the same posts:
             * compiled: `compile_matcher(node)` once, then one call per post;
             * peer:     the same semantics by walking the syntax tree on every call (what an
                         interpreter without a compile step does); ratio = compiled ÷ peer.
             Both must select the same posts (checked).
"""

from __future__ import annotations

import argparse
import platform
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime

from tollhouse.corpus.query import And, Field, Flag, Node, Not, Or, Term, parse
from tollhouse.corpus.query.matcher import MatchablePost, compile_matcher
from tollhouse.corpus.records import PostRecord, UserRecord
from tollhouse.corpus.synthetic.vocabulary import LANGUAGES

RULES = [
    "coffee",
    "coffee morning",
    '"good morning"',
    "coffee OR tea OR pizza",
    "#news has:links -is:retweet",
    "(@alice OR @bob) -is:reply",
    "lang:en is:verified (game OR team) -win",
    "url:example.com",
    "from:alice OR to:bob",
    '(climate OR "climate change" OR #climate) -is:retweet -is:quote lang:en',
]


def synthetic_posts(n: int, seed: int) -> list[tuple[PostRecord, UserRecord, str | None]]:
    rng = random.Random(seed)
    english = LANGUAGES[0]
    names = ["alice", "bob", "carol", "dave", "erin", "frank"]
    authors = [
        UserRecord(id=i + 1, username=name, created_at=datetime(2020, 1, 1, tzinfo=UTC))
        for i, name in enumerate(names)
    ]
    out = []
    for i in range(n):
        author = rng.choice(authors)
        words = rng.choices(english.words[:150], k=rng.randint(5, 20))
        reply_to = rng.choice(authors) if rng.random() < 0.2 else None
        post = PostRecord(
            id=10_000 + i,
            author_id=author.id,
            text=" ".join(words),
            created_at=datetime(2026, 11, 1, tzinfo=UTC),
            lang=rng.choice(["en", "en", "en", "es", "de"]),
            in_reply_to_user_id=reply_to.id if reply_to else None,
            replied_to_id=1 if reply_to else None,
            retweeted_id=2 if rng.random() < 0.15 else None,
            hashtags=tuple(rng.sample(english.hashtags, rng.choice([0, 0, 1, 2]))),
            mentions=tuple(rng.sample(names, rng.choice([0, 0, 1]))),
            urls=("https://www.example.com/a",) if rng.random() < 0.2 else (),
        )
        out.append((post, author, reply_to.username if reply_to else None))
    return out


def walk(node: Node, post: MatchablePost) -> bool:
    """The peer: the matcher's semantics, interpreting the tree on every call."""
    if isinstance(node, Term):
        if len(node.tokens) == 1:
            return node.tokens[0] in post.tokens
        return " " + " ".join(node.tokens) + " " in post.search_text
    if isinstance(node, Not):
        return not walk(node.child, post)
    if isinstance(node, And):
        return all(walk(c, post) for c in node.children)
    if isinstance(node, Or):
        return any(walk(c, post) for c in node.children)
    if isinstance(node, Flag):
        attribute = {"is:verified": "author_verified"}.get(node.name, node.name.split(":")[1])
        attribute = {"retweet": "is_retweet", "reply": "is_reply", "quote": "is_quote"}.get(
            attribute, attribute
        )
        if attribute in ("links", "mentions", "hashtags"):
            attribute = "has_" + attribute
        return bool(getattr(post, attribute))
    return _walk_field(node, post)


def _walk_field(node: Field, post: MatchablePost) -> bool:
    value = node.value
    uid = int(value) if value.isdigit() else None
    if node.name == "from":
        return post.author_id == uid or post.author_username == value
    if node.name == "to":
        return post.in_reply_to_user_id is not None and (
            post.in_reply_to_user_id == uid or post.in_reply_to_username == value
        )
    if node.name == "lang":
        return post.lang == value
    if node.name == "conversation_id":
        return post.conversation_id == int(value)
    if node.name == "url":
        return any(value in u for u in post.urls)
    facets = {"mention": post.mentions, "hashtag": post.hashtags, "cashtag": post.cashtags}
    return value in facets[node.name]


def rate(work: Callable[[], int], repeat: int = 3) -> tuple[float, int]:
    """Best-of-`repeat` operations per second of `work` (which returns how many it did)."""
    best = 0.0
    done = 0
    for _ in range(repeat):
        began = time.perf_counter()
        done = work()
        best = max(best, done / (time.perf_counter() - began))
    return best, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 k posts instead of 50 k")
    args = parser.parse_args()
    n = 5_000 if args.quick else 50_000
    print(f"python {platform.python_version()} on {platform.machine()}, {n} posts")

    long_query = " ".join(["(coffee OR tea)", "-is:retweet", "#news"] * 20)[:512].rsplit(" ", 1)[0]
    per_s, _ = rate(lambda: sum(1 for q in RULES * 100 if parse(q)))
    long_s, _ = rate(lambda: sum(1 for _ in range(200) if parse(long_query)))
    print(f"parse     {per_s:12,.0f} queries/s (10 rules); {long_s:,.0f}/s for a 512-char query")

    records = synthetic_posts(n, seed=7)
    prepared: list[MatchablePost] = []

    def prepare() -> int:
        prepared[:] = [MatchablePost.from_record(*r) for r in records]
        return len(prepared)

    prep_s, _ = rate(prepare)
    print(f"prepare   {prep_s:12,.0f} posts/s (MatchablePost.from_record)")

    print(f"{'rule':<62} {'matches':>7} {'compiled/s':>12} {'peer/s':>12} {'ratio':>6}")
    ratios = []
    for query in RULES:
        node = parse(query)
        match = compile_matcher(node)
        hits = sum(1 for p in prepared if match(p))
        assert hits == sum(1 for p in prepared if walk(node, p)), query

        def compiled(match: Callable[[MatchablePost], bool] = match) -> int:
            for post in prepared:
                match(post)
            return n

        def peer(node: Node = node) -> int:
            for post in prepared:
                walk(node, post)
            return n

        compiled_s, _ = rate(compiled)
        peer_s, _ = rate(peer)
        ratios.append(compiled_s / peer_s)
        print(
            f"{query[:62]:<62} {hits:>7} {compiled_s:>12,.0f} {peer_s:>12,.0f} {ratios[-1]:>5.1f}x"
        )
    geo = 1.0
    for r in ratios:
        geo *= r
    print(f"geometric mean ratio compiled / peer: {geo ** (1 / len(ratios)):.2f}x")


if __name__ == "__main__":
    main()
