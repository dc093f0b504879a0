"""corpus: users, posts, post facets and the full-text index

Revision ID: 0001_corpus
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from tollhouse.migrations import applies

revision = "0001_corpus"
down_revision = None
branch_labels = None
depends_on = None

# INTEGER PRIMARY KEY on SQLite makes the id the rowid (no second b-tree); BIGINT elsewhere.
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    if not applies("corpus"):
        return
    bind = op.get_bind()
    pg = bind.dialect.name == "postgresql"
    op.create_table(
        "users",
        sa.Column("id", _ID, primary_key=True, autoincrement=False),
        sa.Column("username", sa.String(50), nullable=False),
        sa.Column("username_lower", sa.String(50), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("location", sa.String(100)),
        sa.Column("url", sa.Text),
        sa.Column("profile_image_url", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verified", sa.Boolean, nullable=False),
        sa.Column("protected", sa.Boolean, nullable=False),
        sa.Column("followers_count", sa.Integer, nullable=False),
        sa.Column("following_count", sa.Integer, nullable=False),
        sa.Column("tweet_count", sa.Integer, nullable=False),
        sa.Column("listed_count", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("state_changed_at", sa.DateTime(timezone=True)),
        sa.Column("withheld", sa.JSON),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username_lower", name="uq_users_username_lower"),
    )
    tokens_type = postgresql.ARRAY(sa.Text) if pg else sa.JSON
    op.create_table(
        "posts",
        sa.Column("id", _ID, primary_key=True, autoincrement=False),
        sa.Column("author_id", sa.BigInteger, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lang", sa.String(8), nullable=False),
        sa.Column("conversation_id", sa.BigInteger, nullable=False),
        sa.Column("in_reply_to_user_id", sa.BigInteger),
        sa.Column("replied_to_id", sa.BigInteger),
        sa.Column("retweeted_id", sa.BigInteger),
        sa.Column("quoted_id", sa.BigInteger),
        sa.Column("entities", sa.JSON),
        sa.Column("retweet_count", sa.Integer, nullable=False),
        sa.Column("reply_count", sa.Integer, nullable=False),
        sa.Column("like_count", sa.Integer, nullable=False),
        sa.Column("quote_count", sa.Integer, nullable=False),
        sa.Column("bookmark_count", sa.Integer, nullable=False),
        sa.Column("impression_count", sa.Integer, nullable=False),
        sa.Column("possibly_sensitive", sa.Boolean, nullable=False),
        sa.Column("source", sa.String(100)),
        sa.Column("has_links", sa.Boolean, nullable=False),
        sa.Column("has_mentions", sa.Boolean, nullable=False),
        sa.Column("has_hashtags", sa.Boolean, nullable=False),
        sa.Column("search_text", sa.Text, nullable=False),
        sa.Column("tokens", tokens_type),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("state_changed_at", sa.DateTime(timezone=True)),
        sa.Column("withheld", sa.JSON),
        sa.PrimaryKeyConstraint("id", name="pk_posts"),
    )
    op.create_index("ix_posts_author_id_id", "posts", ["author_id", "id"])
    op.create_index("ix_posts_conversation_id", "posts", ["conversation_id"])
    op.create_index("ix_posts_in_reply_to_user_id", "posts", ["in_reply_to_user_id"])
    op.create_table(
        "post_facets",
        sa.Column("kind", sa.String(1), nullable=False),
        sa.Column("value", sa.String(512), nullable=False),
        sa.Column("post_id", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("kind", "value", "post_id", name="pk_post_facets"),
    )
    op.create_index("ix_post_facets_post_id", "post_facets", ["post_id"])

    if pg:
        op.execute("CREATE INDEX ix_posts_tokens ON posts USING GIN (tokens)")
    else:
        # External-content FTS5 over the pre-tokenised search_text. The `ascii` tokenizer splits
        # on ASCII punctuation/space only and keeps every non-ASCII character, so it reproduces
        # our tokens exactly (see tollhouse.corpus.text).
        op.execute(
            "CREATE VIRTUAL TABLE posts_fts USING fts5("
            "search_text, content='posts', content_rowid='id', tokenize='ascii', detail='full')"
        )
        op.execute(
            "CREATE TRIGGER posts_fts_ai AFTER INSERT ON posts BEGIN "
            "INSERT INTO posts_fts(rowid, search_text) VALUES (new.id, new.search_text); END"
        )
        op.execute(
            "CREATE TRIGGER posts_fts_ad AFTER DELETE ON posts BEGIN "
            "INSERT INTO posts_fts(posts_fts, rowid, search_text) "
            "VALUES ('delete', old.id, old.search_text); END"
        )
        op.execute(
            "CREATE TRIGGER posts_fts_au AFTER UPDATE OF search_text ON posts BEGIN "
            "INSERT INTO posts_fts(posts_fts, rowid, search_text) "
            "VALUES ('delete', old.id, old.search_text); "
            "INSERT INTO posts_fts(rowid, search_text) VALUES (new.id, new.search_text); END"
        )


def downgrade() -> None:
    if not applies("corpus"):
        return
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        for trigger in ("posts_fts_ai", "posts_fts_ad", "posts_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS posts_fts")
    op.drop_table("post_facets")
    op.drop_table("posts")
    op.drop_table("users")
