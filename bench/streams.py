"""Filtered-stream matching and delivery.

1. Matching, one core: posts/s through the rule index (`tollhouse.streams.index.RuleIndex`) with
   1 k, 10 k and 100 k rules, side by side with the peer that evaluates every compiled rule per
   post (`compile_matcher` for each rule). Both include building the `MatchablePost`. The script
   checks that both select the same (post, rule) pairs.
2. Delivery latency: a real server (memory bus), 100 connected filtered streams, posts ingested
   through POST /admin/v1/posts; p50/p99 from the ingest request being sent to the line arriving.

Rules are generated like real ones: keywords, two-keyword ANDs, phrases, from:, #hashtags, @,
lang:, OR groups, negated keywords and -is:retweet, and a few operator-only rules. Words come from
a synthetic Zipf vocabulary; rules pick topical words (not the 200 most common).

    .venv/bin/python bench/streams.py            # full
    .venv/bin/python bench/streams.py --quick    # smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import itertools
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tollhouse.corpus.query import parse
from tollhouse.corpus.query.matcher import MatchablePost, compile_matcher
from tollhouse.corpus.records import PostRecord, UserRecord
from tollhouse.streams.index import RuleIndex, compile_rule

SYLLABLES = [a + b for a in "bcdfghjklmnprstvz" for b in "aeiou"]
LANGS = ["en"] * 50 + ["es"] * 15 + ["ja"] * 10 + ["pt"] * 8 + ["fr"] * 7 + ["de"] * 5 + ["ar"] * 5


def vocabulary(size: int, rng: random.Random) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words, key=lambda w: (len(w), w))


class Zipf:
    def __init__(self, n: int, s: float = 1.05) -> None:
        weights = [1 / (k**s) for k in range(1, n + 1)]
        self.cumulative = list(itertools.accumulate(weights))

    def draw(self, rng: random.Random) -> int:
        return bisect.bisect(self.cumulative, rng.random() * self.cumulative[-1])


class World:
    """Words, users and hashtags shared by the rule and post generators."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.words = vocabulary(50_000, self.rng)
        self.zipf = Zipf(len(self.words))
        self.users = [f"user{i}" for i in range(20_000)]
        self.tags = [f"tag{self.words[i]}" for i in range(2_000)]
        self.tag_zipf = Zipf(len(self.tags))

    def topical(self) -> str:
        return self.words[self.rng.randrange(200, len(self.words))]

    def rule(self) -> str:
        rng, kind = self.rng, self.rng.random()
        if kind < 0.25:
            return self.topical()
        if kind < 0.40:
            return f"{self.topical()} {self.topical()}"
        if kind < 0.50:
            return f'"{self.words[self.zipf.draw(rng)]} {self.topical()}"'
        if kind < 0.60:
            return f"from:{rng.choice(self.users)}"
        if kind < 0.68:
            return f"#{self.tags[rng.randrange(len(self.tags))]}"
        if kind < 0.72:
            return f"@{rng.choice(self.users)}"
        if kind < 0.80:
            return f"{self.topical()} lang:{rng.choice(LANGS)}"
        if kind < 0.90:
            return f"({self.topical()} OR {self.topical()} OR #{rng.choice(self.tags)}) -is:retweet"
        if kind < 0.999:
            return f"{self.topical()} -{self.topical()} -is:retweet"
        return rng.choice(
            ["-is:retweet has:links", "is:quote has:hashtags", "has:mentions -is:reply"]
        )

    def post(self, post_id: int) -> tuple[PostRecord, UserRecord]:
        rng = self.rng
        words = [self.words[self.zipf.draw(rng)] for _ in range(rng.randint(8, 25))]
        tags = [self.tags[self.tag_zipf.draw(rng)] for _ in range(rng.choice([0, 0, 0, 1, 2]))]
        mentions = [rng.choice(self.users) for _ in range(rng.choice([0, 0, 1]))]
        text = " ".join(words + [f"#{t}" for t in tags] + [f"@{m}" for m in mentions])
        author = rng.randrange(len(self.users))
        record = PostRecord(
            id=post_id,
            author_id=author,
            text=text,
            created_at=datetime(2026, 1, 1, tzinfo=UTC),
            lang=rng.choice(LANGS),
            retweeted_id=1 if rng.random() < 0.3 else None,
            hashtags=tuple(tags),
            mentions=tuple(mentions),
            urls=("https://example.com/x",) if rng.random() < 0.2 else (),
        )
        user = UserRecord(author, self.users[author], datetime(2020, 1, 1, tzinfo=UTC))
        return record, user


def records(world: World, n: int) -> list[tuple[PostRecord, UserRecord]]:
    """Posts as records (the MatchablePost is built inside the timed loop, for both sides)."""
    return [world.post(i + 1) for i in range(n)]


def bench_matching(rule_counts: Sequence[int], n_posts: int, n_naive: int) -> None:
    world = World()
    warmup = 2_000
    # Frequencies are learnt on posts other than the timed ones.
    posts = records(world, n_posts + warmup)[warmup:]
    warm = records(world, warmup)
    print("## matching, one core (posts/s; higher is better)")
    print(
        f"{'rules':>8} {'index posts/s':>14} {'naive posts/s':>14} {'ratio':>8} "
        f"{'matches/post':>13} {'always-checked':>15} {'build s':>8}"
    )
    for count in rule_counts:
        rules = [world.rule() for _ in range(count)]
        index = RuleIndex()
        # A live index has seen traffic before most rules arrive: let it sample key frequencies.
        for post, user in warm:
            index.observe(MatchablePost.from_record(post, user, None))
        t0 = time.perf_counter()
        nodes = [parse(r) for r in rules]
        for rule_id, node in enumerate(nodes):
            index.add(rule_id, compile_rule(node, index.key_cost))
        build = time.perf_counter() - t0
        matchers = [compile_matcher(node) for node in nodes]

        t0 = time.perf_counter()
        hits = 0
        for post, user in posts:
            hits += len(index.match(MatchablePost.from_record(post, user, None)))
        indexed = len(posts) / (time.perf_counter() - t0)

        sample = posts[:n_naive]
        t0 = time.perf_counter()
        naive_hits: list[list[int]] = []
        for post, user in sample:
            m = MatchablePost.from_record(post, user, None)
            naive_hits.append([i for i, match in enumerate(matchers) if match(m)])
        naive = len(sample) / (time.perf_counter() - t0)
        for (post, user), expected in zip(sample, naive_hits, strict=True):
            got = sorted(index.match(MatchablePost.from_record(post, user, None)))
            assert got == expected, f"index and naive matcher disagree on post {post.id}"
        print(
            f"{count:>8} {indexed:>14,.0f} {naive:>14,.0f} {indexed / naive:>7.0f}x "
            f"{hits / len(posts):>13.2f} {index.always_checked:>15} {build:>8.1f}"
        )


async def bench_latency(n_streams: int, n_posts: int, rate: float) -> None:
    import httpx
    from tests.conftest import LiveServer
    from tests.streams.support import ADMIN, licensee, post_json, user_json

    from tollhouse.db import create_engine
    from tollhouse.migrations.runner import upgrade

    tmp = tempfile.mkdtemp()
    engine = create_engine(f"sqlite:///{tmp}/tollhouse.db")
    upgrade(engine)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLHOUSE_")}
    env.update(
        TOLLHOUSE_DATABASE_URL=str(engine.url),
        TOLLHOUSE_METERING_MODE="off",
        TOLLHOUSE_LIMITS_URL="memory://",
    )
    server = LiveServer(env).start()
    try:
        # One connection per app and at most 10 apps per organisation on the enterprise plan.
        tokens = [
            token
            for o in range(0, n_streams, 10)
            for token in licensee(
                engine,
                f"bench{o}",
                "enterprise",
                [f"s{i}" for i in range(o, min(o + 10, n_streams))],
            )
        ]
        topics = [f"topic{i}" for i in range(10)]
        unlimited = httpx.Limits(max_connections=None, max_keepalive_connections=None)
        async with httpx.AsyncClient(
            base_url=server.base_url, timeout=60, limits=unlimited
        ) as client:
            for i, token in enumerate(tokens):
                rules = [{"value": topics[i % len(topics)]}, {"value": f"only{i}"}]
                response = await client.post(
                    "/2/tweets/search/stream/rules",
                    json={"add": rules},
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert response.status_code == 200, response.text
            sent: dict[str, float] = {}
            latencies: list[float] = []
            expected = 0
            done = asyncio.Event()
            ready = 0

            async def reader(token: str) -> None:
                nonlocal ready
                headers = {"Authorization": f"Bearer {token}"}
                async with client.stream("GET", "/2/tweets/search/stream", headers=headers) as r:
                    ready += 1
                    async for line in r.aiter_lines():
                        if line.startswith("{"):
                            post_id = line.split('"id":"', 1)[1].split('"', 1)[0]
                            latencies.append(time.time() - sent[post_id])
                            if len(latencies) >= expected:
                                done.set()
                        if done.is_set():
                            return

            tasks = [asyncio.create_task(reader(t)) for t in tokens]
            while ready < len(tokens):
                await asyncio.sleep(0.05)
            await client.post(
                "/admin/v1/posts",
                json={"data": [], "includes": {"users": [user_json(1, "bencher")]}},
                headers=ADMIN,
            )
            # Each post matches one topic: 1/10 of the streams receive it.
            expected = n_posts * (n_streams // len(topics))
            for i in range(n_posts):
                post = post_json(f"news about {topics[i % len(topics)]}", 1)
                sent[post["id"]] = time.time()
                await client.post("/admin/v1/posts", json={"data": [post]}, headers=ADMIN)
                await asyncio.sleep(1 / rate)
            try:
                await asyncio.wait_for(done.wait(), 30)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        latencies.sort()
        p50 = statistics.median(latencies) * 1000
        p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
        print("\n## delivery latency, ingest request sent → line received")
        print(
            f"{n_streams} streams, {n_posts} posts at {rate:.0f}/s, {len(latencies)} deliveries: "
            f"p50 {p50:.1f} ms, p99 {p99:.1f} ms"
        )
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-matching", action="store_true")
    args = parser.parse_args()
    if args.skip_matching:
        pass
    elif args.quick:
        bench_matching([1_000, 10_000], n_posts=2_000, n_naive=20)
    else:
        bench_matching([1_000, 10_000, 100_000], n_posts=20_000, n_naive=30)
    if not args.skip_latency:
        if args.quick:
            asyncio.run(bench_latency(20, 50, 50))
        else:
            asyncio.run(bench_latency(100, 300, 100))


if __name__ == "__main__":
    main()
