"""Tables for posts and users, shaped like X API v2 objects.

SQLAlchemy Core tables rather than ORM classes: the API reads rows straight into response dicts
and the generator bulk-inserts tuples, and neither wants per-row objects.

Deletion, withholding and protection are kept as state with a timestamp (never a hard delete) so
that deletion compliance can say what was removed and when.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import ARRAY

from tollhouse.db import metadata

# On SQLite only a column declared exactly INTEGER PRIMARY KEY is the rowid; BIGINT would add a
# second b-tree (the primary-key index) beside the table that every insert and id lookup pays
# for. SQLite's INTEGER is 64-bit, so snowflake ids fit either way.
ID = BigInteger().with_variant(Integer(), "sqlite")


class ContentState(StrEnum):
    """Whether a post or user may be served."""

    ACTIVE = "active"
    DELETED = "deleted"
    WITHHELD = "withheld"
    SUSPENDED = "suspended"  # users only


users = Table(
    "users",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=False),
    Column("username", String(50), nullable=False),
    Column("username_lower", String(50), nullable=False, unique=True),
    Column("name", String(100), nullable=False, default=""),
    Column("description", Text, nullable=False, default=""),
    Column("location", String(100), nullable=True),
    Column("url", Text, nullable=True),
    Column("profile_image_url", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("verified", Boolean, nullable=False, default=False),
    Column("protected", Boolean, nullable=False, default=False),
    Column("followers_count", Integer, nullable=False, default=0),
    Column("following_count", Integer, nullable=False, default=0),
    Column("tweet_count", Integer, nullable=False, default=0),
    Column("listed_count", Integer, nullable=False, default=0),
    Column("state", String(16), nullable=False, default=ContentState.ACTIVE.value),
    Column("state_changed_at", DateTime(timezone=True), nullable=True),
    Column("withheld", JSON, nullable=True),
)

posts = Table(
    "posts",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=False),
    Column("author_id", BigInteger, nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("lang", String(8), nullable=False, default="und"),
    Column("conversation_id", BigInteger, nullable=False),
    Column("in_reply_to_user_id", BigInteger, nullable=True),
    # referenced_tweets, one column per kind so that is:reply / is:retweet / is:quote are cheap.
    Column("replied_to_id", BigInteger, nullable=True),
    Column("retweeted_id", BigInteger, nullable=True),
    Column("quoted_id", BigInteger, nullable=True),
    Column("entities", JSON, nullable=True),
    Column("retweet_count", Integer, nullable=False, default=0),
    Column("reply_count", Integer, nullable=False, default=0),
    Column("like_count", Integer, nullable=False, default=0),
    Column("quote_count", Integer, nullable=False, default=0),
    Column("bookmark_count", Integer, nullable=False, default=0),
    Column("impression_count", Integer, nullable=False, default=0),
    Column("possibly_sensitive", Boolean, nullable=False, default=False),
    Column("source", String(100), nullable=True),
    Column("has_links", Boolean, nullable=False, default=False),
    Column("has_mentions", Boolean, nullable=False, default=False),
    Column("has_hashtags", Boolean, nullable=False, default=False),
    # Tokens of `text` as ` tok1 tok2 … ` (see corpus.text); SQLite indexes it with FTS5.
    Column("search_text", Text, nullable=False),
    # The same tokens as an array, PostgreSQL only (GIN-indexed); NULL on SQLite.
    Column("tokens", JSON().with_variant(ARRAY(Text), "postgresql"), nullable=True),
    Column("state", String(16), nullable=False, default=ContentState.ACTIVE.value),
    Column("state_changed_at", DateTime(timezone=True), nullable=True),
    Column("withheld", JSON, nullable=True),
    Index("ix_posts_author_id_id", "author_id", "id"),
    Index("ix_posts_conversation_id", "conversation_id"),
    Index("ix_posts_in_reply_to_user_id", "in_reply_to_user_id"),
)

# Entity values a post carries, one row each, so that @mention, #hashtag and url: are index
# lookups. kind: "m" mention (username, lower), "h" hashtag (lower), "u" url (expanded, lower),
# "c" cashtag (lower).
post_facets = Table(
    "post_facets",
    metadata,
    Column("kind", String(1), nullable=False),
    Column("value", String(512), nullable=False),
    Column("post_id", BigInteger, nullable=False),
    PrimaryKeyConstraint("kind", "value", "post_id"),
    Index("ix_post_facets_post_id", "post_id"),
)
