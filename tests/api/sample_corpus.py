"""A small deterministic corpus for API and end-to-end tests, with the truth kept beside it.

Posts are spread over the last six days (so recent search sees them) plus a few older ones (only
the full archive sees those). Some users are protected, suspended, withheld or deleted, and some
posts deleted or withheld, so that every visibility rule has something to hide. Tests compute
the expected answer from `SampleCorpus` in Python and compare it with what the API returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.engine import Engine

from tollhouse.corpus.ids import snowflake
from tollhouse.corpus.models import posts, users
from tollhouse.corpus.records import PostRecord, UserRecord
from tollhouse.corpus.store import insert_posts, insert_users

WORDS = ("river", "lantern", "copper", "meadow", "signal", "harbor", "violet", "ember")
LANGS = ("en", "en", "en", "de", "fr", "es")


@dataclass
class SampleCorpus:
    now: datetime
    users: dict[int, UserRecord] = field(default_factory=dict)
    posts: dict[int, PostRecord] = field(default_factory=dict)
    hidden_users: dict[int, str] = field(default_factory=dict)  # id -> state or "protected"
    hidden_posts: dict[int, str] = field(default_factory=dict)  # id -> state

    def user_named(self, username: str) -> UserRecord:
        return next(u for u in self.users.values() if u.username == username)

    def visible(self, post: PostRecord) -> bool:
        return post.id not in self.hidden_posts and post.author_id not in self.hidden_users

    def visible_ids(self, predicate: object = None) -> list[int]:
        """Visible post ids, newest first, optionally filtered by predicate(post)."""
        chosen = [
            p
            for p in self.posts.values()
            if self.visible(p) and (predicate is None or predicate(p))  # type: ignore[operator]
        ]
        return [p.id for p in sorted(chosen, key=lambda p: p.id, reverse=True)]


def build(engine: Engine, n_posts: int = 300, n_users: int = 24) -> SampleCorpus:
    """Insert the sample corpus into `engine`'s (migrated, empty) database."""
    now = datetime.now(UTC).replace(microsecond=0)
    corpus = SampleCorpus(now=now)
    base = now - timedelta(days=400)
    for i in range(n_users):
        uid = 1000 + i
        corpus.users[uid] = UserRecord(
            id=uid,
            username=f"user{i}" if i else "Alice_0",
            created_at=base + timedelta(days=i),
            name=f"User {i}",
            description=f"about user {i}",
            verified=i % 5 == 0,
            followers_count=i * 10,
            following_count=i,
            tweet_count=i * 3,
            location="Berlin" if i % 2 else None,
        )
    uids = sorted(corpus.users)
    # The last four users get hidden below; only a few of their posts exist.
    span = timedelta(days=6)
    posts_list: list[PostRecord] = []
    for i in range(n_posts):
        created = now - timedelta(minutes=30) - span * (i / n_posts)
        pid = snowflake(created, worker=1, sequence=i % 4096)
        author = uids[(i * 7) % len(uids)]
        words = [WORDS[(i + k) % len(WORDS)] for k in range(3)]
        mention = (
            corpus.users[uids[(i * 3 + 1) % len(uids)]].username
            if i % 4 == 0 or i % 12 == 3
            else None
        )
        hashtag = "tollhouse" if i % 5 == 0 else None
        text_parts = [*words]
        if mention:
            text_parts.append("@" + mention)
        if hashtag:
            text_parts.append("#" + hashtag)
        replied = posts_list[-1] if i % 6 == 3 and posts_list else None
        quoted = posts_list[-2] if i % 11 == 5 and len(posts_list) > 1 else None
        url = f"https://example.com/{i}" if i % 9 == 0 else None
        if url:
            text_parts.append(url)
        posts_list.append(
            PostRecord(
                id=pid,
                author_id=author,
                text=" ".join(text_parts),
                created_at=created,
                lang=LANGS[i % len(LANGS)],
                conversation_id=replied.conversation if replied else None,
                in_reply_to_user_id=replied.author_id if replied else None,
                replied_to_id=replied.id if replied else None,
                quoted_id=quoted.id if quoted else None,
                hashtags=(hashtag,) if hashtag else (),
                mentions=(mention,) if mention else (),
                urls=(url,) if url else (),
                like_count=i % 13,
                retweet_count=i % 7,
            )
        )
    # Three old posts: the full archive has them, recent search does not.
    for k in range(3):
        created = now - timedelta(days=20 + k)
        posts_list.append(
            PostRecord(
                id=snowflake(created, worker=2, sequence=k),
                author_id=uids[1],
                text=f"archive lantern {k}",
                created_at=created,
                lang="en",
            )
        )
    corpus.posts = {p.id: p for p in posts_list}
    with engine.begin() as conn:
        insert_users(conn, list(corpus.users.values()))
        insert_posts(conn, posts_list)
        hide = {
            uids[-1]: "deleted",
            uids[-2]: "suspended",
            uids[-3]: "withheld",
        }
        for uid, state in hide.items():
            conn.execute(update(users).where(users.c.id == uid).values(state=state))
            corpus.hidden_users[uid] = state
        conn.execute(update(users).where(users.c.id == uids[-4]).values(protected=True))
        corpus.hidden_users[uids[-4]] = "protected"
        candidates = [p for p in posts_list if p.author_id not in corpus.hidden_users]
        for post, state in ((candidates[10], "deleted"), (candidates[20], "withheld")):
            conn.execute(update(posts).where(posts.c.id == post.id).values(state=state))
            corpus.hidden_posts[post.id] = state
    return corpus


PROLIFIC_POSTS = 3300  # more than the 3,200 a user timeline serves
HISTORY_DAYS = 100


def add_depth(engine: Engine, corpus: SampleCorpus) -> tuple[UserRecord, UserRecord]:
    """Add a user with more posts than X's timeline serves and one mentioned in more posts than
    X's mentions timeline serves, plus a post of `almanac` every 12 hours for 100 days (counts
    that need several pages). Returns (the prolific user, the much-mentioned user)."""
    now = corpus.now
    prolific = UserRecord(
        id=5000, username="prolific", created_at=now - timedelta(days=900), name="Prolific"
    )
    famous = UserRecord(
        id=5001, username="Famous", created_at=now - timedelta(days=900), name="Famous"
    )
    added: list[PostRecord] = []
    previous: PostRecord | None = None
    for i in range(PROLIFIC_POSTS):
        created = now - timedelta(hours=1) - timedelta(minutes=2) * i
        # Every fourth post replies to the one before it; every third mentions @Famous.
        replied = previous if i % 4 == 1 else None
        mentions = ("Famous",) if i % 3 == 0 else ()
        text = f"quill ink {i}" + (" @Famous" if mentions else "")
        post = PostRecord(
            id=snowflake(created, worker=3, sequence=i % 4096),
            author_id=prolific.id,
            text=text,
            created_at=created,
            lang="en",
            conversation_id=replied.conversation if replied else None,
            in_reply_to_user_id=prolific.id if replied else None,
            replied_to_id=replied.id if replied else None,
            mentions=mentions,
        )
        added.append(post)
        previous = post
    author = sorted(u for u in corpus.users if u not in corpus.hidden_users)[2]
    for k in range(1, 2 * HISTORY_DAYS + 1):
        created = now - timedelta(hours=12) * k
        added.append(
            PostRecord(
                id=snowflake(created, worker=4, sequence=k),
                author_id=author,
                text=f"almanac entry {k}",
                created_at=created,
                lang="en",
            )
        )
    with engine.begin() as conn:
        insert_users(conn, [prolific, famous])
        insert_posts(conn, added)
    corpus.users[prolific.id] = prolific
    corpus.users[famous.id] = famous
    corpus.posts.update((p.id, p) for p in added)
    return prolific, famous
