"""Rows for bulk writing: the column order of the generator's tuples, their encoding per backend
(exactly the rows `corpus.store` writes, quirks included), batches and what writing one did."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy.engine import Engine

from tollhouse.corpus.models import ContentState
from tollhouse.corpus.records import PostRecord, UserRecord
from tollhouse.corpus.store import post_row, user_row

# Column order of the tuples the generator builds; the tests check it covers the tables.
POST_COLUMNS: tuple[str, ...] = (
    "id",
    "author_id",
    "text",
    "created_at",
    "lang",
    "conversation_id",
    "in_reply_to_user_id",
    "replied_to_id",
    "retweeted_id",
    "quoted_id",
    "entities",
    "retweet_count",
    "reply_count",
    "like_count",
    "quote_count",
    "bookmark_count",
    "impression_count",
    "possibly_sensitive",
    "source",
    "has_links",
    "has_mentions",
    "has_hashtags",
    "search_text",
    "tokens",
    "state",
    "state_changed_at",
    "withheld",
)
USER_COLUMNS: tuple[str, ...] = (
    "id",
    "username",
    "username_lower",
    "name",
    "description",
    "location",
    "url",
    "profile_image_url",
    "created_at",
    "verified",
    "protected",
    "followers_count",
    "following_count",
    "tweet_count",
    "listed_count",
    "state",
    "state_changed_at",
    "withheld",
)
FACET_COLUMNS: tuple[str, ...] = ("kind", "value", "post_id")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
JSON_NULL = "null"  # what SQLAlchemy's JSON type stores for Python None

# Post columns whose value is the same in every row the generator makes for SQLite (no tokens
# array, active, never changed, not withheld), last in POST_COLUMNS: a staged batch may leave
# them out (`STAGED_POST_COLUMNS`) and `write_staged` supplies them. Saves binding and
# marshalling four values per post: staging 5.1 → 4.7 µs, marshal 3.9 → 3.5 µs per post.
POST_CONSTANTS: dict[str, Any] = {
    "tokens": JSON_NULL,
    "state": ContentState.ACTIVE.value,
    "state_changed_at": None,
    "withheld": JSON_NULL,
}
STAGED_POST_COLUMNS = POST_COLUMNS[: -len(POST_CONSTANTS)]
assert POST_COLUMNS[len(STAGED_POST_COLUMNS) :] == tuple(POST_CONSTANTS)

POST_ID = 0
POST_SEARCH_TEXT = POST_COLUMNS.index("search_text")
USER_ID = 0

# The FTS trigger the 0001_corpus migration creates. The fast path replaces exactly this
# trigger; if a later migration changes it, we leave it in place and take the slow path rather
# than guess what the new one does.
FTS_TRIGGER = "posts_fts_ai"
FTS_TRIGGER_SQL = (
    "CREATE TRIGGER posts_fts_ai AFTER INSERT ON posts BEGIN "
    "INSERT INTO posts_fts(rowid, search_text) VALUES (new.id, new.search_text); END"
)


@dataclass(frozen=True, slots=True)
class RowEncoding:
    """How values are encoded for one backend: what the driver expects in each tuple slot.

    `native=True` gives the Python values SQLAlchemy's column types expect instead (datetimes,
    dicts), for writing the same rows through plain SQLAlchemy (the benchmark's peer).
    """

    postgres: bool
    native: bool = False

    def time(self, epoch_ms: int) -> Any:
        """A UTC instant given in epoch milliseconds, in the form the backend stores."""
        if self.postgres or self.native:
            return _EPOCH + timedelta(milliseconds=epoch_ms)
        return sqlite_timestamp(epoch_ms)

    def moment(self, value: datetime) -> Any:
        """A datetime (naive = UTC) in the form the backend stores, microseconds kept."""
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        if self.postgres or self.native:
            return value
        return f"{value:%Y-%m-%d %H:%M:%S}.{value.microsecond:06d}"

    def json(self, value: Any) -> Any:
        if self.native:
            return value
        return JSON_NULL if value is None else orjson.dumps(value).decode()

    def tokens(self, tokens: list[str]) -> Any:
        """The `tokens` column: an array on PostgreSQL, unused (JSON null) on SQLite."""
        if self.postgres:
            return tokens
        return None if self.native else JSON_NULL


def post_values(post: PostRecord, encoding: RowEncoding) -> tuple[Any, ...]:
    """A record as a bulk row (POST_COLUMNS order): exactly what `store.post_row` writes."""
    return _encode(post_row(post, encoding.postgres), POST_COLUMNS, encoding)


def user_values(user: UserRecord, encoding: RowEncoding) -> tuple[Any, ...]:
    """A record as a bulk row (USER_COLUMNS order): exactly what `store.user_row` writes."""
    return _encode(user_row(user), USER_COLUMNS, encoding)


_TIME_COLUMNS = frozenset({"created_at", "state_changed_at"})
_JSON_COLUMNS = frozenset({"entities", "withheld"})


def _encode(row: dict[str, Any], columns: Sequence[str], encoding: RowEncoding) -> tuple[Any, ...]:
    values = []
    for name in columns:
        value = row[name]
        if name in _TIME_COLUMNS and value is not None:
            value = encoding.moment(value)
        elif name in _JSON_COLUMNS:
            value = encoding.json(value)
        elif name == "tokens":
            value = encoding.tokens(value or [])
        values.append(value)
    return tuple(values)


def encoding_for(engine: Engine) -> RowEncoding:
    return RowEncoding(postgres=engine.dialect.name == "postgresql")


_clock: list[str] = []


def clock_strings() -> list[str]:
    """ "HH:MM:SS" for every second of a day (built once: 86 400 short strings).

    Joined from "HH:MM:" prefixes and "SS" suffixes: 7 ms, against 54 ms formatting each
    second, on the path before the generator's children can start."""
    if not _clock:
        two = [f"{n:02d}" for n in range(60)]
        minutes = [f"{hour}:{minute}:" for hour in two[:24] for minute in two]
        _clock.extend([minute + second for minute in minutes for second in two])
    return _clock


# Room for every day since 1970 and decades ahead: users sign up on any day since 2010
# (≈ 6 000 days), and with 1 024 entries nearly every user missed the cache (strftime, ≈ 5 µs).
@lru_cache(maxsize=32_768)
def day_prefix(day: int) -> str:
    """ "YYYY-MM-DD " of the UTC day `day` days after 1970-01-01."""
    return (_EPOCH + timedelta(days=day)).strftime("%Y-%m-%d ")


def sqlite_timestamp(epoch_ms: int) -> str:
    """SQLAlchemy's SQLite DateTime text ("YYYY-MM-DD HH:MM:SS.ffffff") for a UTC instant.

    Built from lookups rather than strftime, which would cost more than the rest of a row;
    the generator inlines the same formula with the day prefix cached.
    """
    day, of_day = divmod(epoch_ms, 86_400_000)
    return f"{day_prefix(day)}{clock_strings()[of_day // 1000]}.{of_day % 1000:03d}000"


@dataclass(slots=True)
class PostBatch:
    """Encoded rows for one transaction: posts (POST_COLUMNS), their facets, new users."""

    posts: list[tuple[Any, ...]]
    facets: list[tuple[str, str, int]]
    users: list[tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class BatchResult:
    posts: int  # newly written
    users: int


def placeholders(n: int, mark: str) -> str:
    return ", ".join([mark] * n)


def new_posts(existing: set[int], batch: PostBatch) -> tuple[list[tuple[Any, ...]], list[Any]]:
    if not existing:
        return batch.posts, batch.facets
    rows = [r for r in batch.posts if r[POST_ID] not in existing]
    facets = [f for f in batch.facets if f[2] not in existing]
    return rows, facets


def id_range(rows: Sequence[tuple[Any, ...]]) -> tuple[int, int]:
    ids = [r[POST_ID] for r in rows]
    return min(ids), max(ids)
