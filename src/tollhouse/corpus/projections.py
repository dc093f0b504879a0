"""The columns every post and user query returns, per SQL dialect, and the row type they make.

Render code indexes rows by these positions; the database formats `created_at` as X writes it
and hands JSON columns over as text, so rows need no per-value processing in Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

from sqlalchemy import (
    ColumnElement,
    Text,
    cast,
    func,
    literal_column,
    type_coerce,
)

from tollhouse.corpus.models import posts, users


def _x_time(column: Any, dialect: str) -> ColumnElement[str]:
    """The timestamp as X writes it (`2024-01-01T00:00:00.000Z`), formatted by the database:
    cheaper than building a datetime per row only to format it again."""
    if dialect == "sqlite":
        return func.strftime("%Y-%m-%dT%H:%M:%fZ", column)
    return func.to_char(
        func.timezone("UTC", column), literal_column('\'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"\'')
    )


def _json_text(column: Any, dialect: str) -> ColumnElement[str]:
    """A JSON column as its text, so that it can be passed through (orjson.Fragment) unparsed."""
    if dialect == "sqlite":
        return type_coerce(column, Text)
    return cast(column, Text)


def _post_columns(dialect: str) -> tuple[Any, ...]:
    return (
        posts.c.id,
        posts.c.author_id,
        posts.c.text,
        _x_time(posts.c.created_at, dialect).label("created_at"),
        posts.c.lang,
        posts.c.conversation_id,
        posts.c.in_reply_to_user_id,
        posts.c.replied_to_id,
        posts.c.retweeted_id,
        posts.c.quoted_id,
        _json_text(posts.c.entities, dialect).label("entities"),
        posts.c.retweet_count,
        posts.c.reply_count,
        posts.c.like_count,
        posts.c.quote_count,
        posts.c.bookmark_count,
        posts.c.impression_count,
        posts.c.possibly_sensitive,
        posts.c.source,
        _json_text(posts.c.withheld, dialect).label("withheld"),
    )


def _user_columns(dialect: str) -> tuple[Any, ...]:
    return (
        users.c.id,
        users.c.username,
        users.c.name,
        users.c.description,
        users.c.location,
        users.c.url,
        users.c.profile_image_url,
        _x_time(users.c.created_at, dialect).label("created_at"),
        users.c.verified,
        users.c.protected,
        users.c.followers_count,
        users.c.following_count,
        users.c.tweet_count,
        users.c.listed_count,
        _json_text(users.c.withheld, dialect).label("withheld"),
        users.c.state,
    )


# Column order of every post / user row returned here, per dialect (render code indexes rows by
# these positions). created_at comes back as X-formatted text, JSON columns as JSON text.
POST_COLUMNS = {d: _post_columns(d) for d in ("sqlite", "postgresql")}
USER_COLUMNS = {d: _user_columns(d) for d in ("sqlite", "postgresql")}
N_POST_COLUMNS = len(POST_COLUMNS["sqlite"])
N_USER_COLUMNS = len(USER_COLUMNS["sqlite"])

# One result row (positions as in POST_COLUMNS / USER_COLUMNS): a DBAPI tuple or a Row.
Record: TypeAlias = Sequence[Any]
