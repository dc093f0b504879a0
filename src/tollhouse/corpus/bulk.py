"""Bulk writing of posts, facets and users with the raw database driver.

`corpus.store` is the general write path (SQLAlchemy Core, FTS kept by triggers). For millions
of generated rows it is too slow, so the generator writes pre-encoded tuples here instead (the
measurements behind each choice: bench/RESULTS.md, "Bulk writing: why these paths"):

* SQLite: the FTS trigger is dropped inside each batch's transaction and the FTS rows inserted
  by a second statement (a rebuild at the end would re-read every post already stored).
* Multi-row VALUES statements rather than executemany, so that writing overlaps generation
  (`_insert_many_rows`); one JSON parameter per batch would re-parse the row for every column.
* PostgreSQL: `COPY … FROM STDIN` (psycopg) instead of INSERT.
* The generator binds no rows on the writing connection: a child process stages each batch in
  an in-memory SQLite database (`stage_batch`) and the writer copies it with `INSERT … SELECT`
  (`write_staged`), half the writer's CPU per post. The multi-row path below serves
  `write_batch` (the threaded fallback, other callers). Staging binds booleans and NULLs
  through adapters (`bind_flags_and_nulls_fast`).

The rows written are exactly the rows `corpus.store` would write for the same records (the tests
compare them), including its encoding quirks: JSON `null` for absent JSON values, timestamps as
SQLAlchemy's SQLite DateTime text.

Writes stay idempotent: ids already present are skipped (checked under the write lock), so a
batch replayed after a crash or a second run with the same seed changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import chain
from typing import Any, cast

import orjson
from sqlalchemy.engine import Engine

from tollhouse.corpus.models import ContentState, post_facets, posts, users
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
_FTS_TRIGGER = "posts_fts_ai"
_FTS_TRIGGER_SQL = (
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


def write_batch(engine: Engine, batch: PostBatch) -> BatchResult:
    """Write one batch in one transaction, skipping posts and users already present."""
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection
        if engine.dialect.name == "postgresql":
            return _write_postgres(driver, batch)
        return _write_sqlite(driver, batch)
    finally:
        raw.close()


def _placeholders(n: int, mark: str) -> str:
    return ", ".join([mark] * n)


# WAL written between automatic checkpoints while bulk loading (SQLite's default is 1 000 pages).
_BULK_CHECKPOINT_BYTES = 64 << 20
# SQLite takes up to 32 766 parameters per statement; stay below it.
_SQLITE_PARAMS = 30_000
_SQLITE_POSTS_HEAD = f"INSERT INTO {posts.name} ({', '.join(POST_COLUMNS)}) VALUES "
_SQLITE_FTS_HEAD = "INSERT INTO posts_fts(rowid, search_text) VALUES "
_SQLITE_FACETS_HEAD = (
    f"INSERT OR IGNORE INTO {post_facets.name} ({', '.join(FACET_COLUMNS)}) VALUES "
)
_SQLITE_INSERT_USERS = (
    f"INSERT OR IGNORE INTO {users.name} ({', '.join(USER_COLUMNS)}) "
    f"VALUES ({_placeholders(len(USER_COLUMNS), '?')})"
)


def _chunks(rows: Sequence[tuple[Any, ...]], width: int) -> list[list[Any]]:
    per = max(1, _SQLITE_PARAMS // width)
    return [list(chain.from_iterable(rows[k : k + per])) for k in range(0, len(rows), per)]


@lru_cache(maxsize=64)
def _multi_row_sql(head: str, width: int, rows: int) -> str:
    row_marks = "(" + ", ".join(["?"] * width) + ")"
    return head + ", ".join([row_marks] * rows)


def _insert_chunks(conn: Any, head: str, width: int, chunks: Sequence[list[Any]]) -> None:
    """Insert with multi-row VALUES statements rather than executemany.

    Why: sqlite3 releases the GIL around each statement step and must take it back after. With
    executemany that happens once per row, and while another thread holds the GIL each
    take-back waits out the switch interval, so writing and generating in threads never
    overlap. One statement per ~1 000 rows gives the GIL back once per statement. In CPU the
    two forms are about even (200 k posts: posts 10.1 µs multi-row vs 8.8 executemany, facets
    2.3 vs 3.5). The generator itself now writes through `write_staged`; this path serves
    the threaded fallback and other callers of `write_batch`.
    """
    for chunk in chunks:
        conn.execute(_multi_row_sql(head, width, len(chunk) // width), chunk)


def _fts_chunks(post_chunks: Sequence[list[Any]]) -> list[list[Any]]:
    """(rowid, search_text) parameters for each posts chunk, by slicing (no per-row Python)."""
    width = len(POST_COLUMNS)
    out = []
    for chunk in post_chunks:
        values: list[Any] = [None] * (2 * (len(chunk) // width))
        values[0::2] = chunk[POST_ID::width]
        values[1::2] = chunk[POST_SEARCH_TEXT::width]
        out.append(values)
    return out


def _new_posts(existing: set[int], batch: PostBatch) -> tuple[list[tuple[Any, ...]], list[Any]]:
    if not existing:
        return batch.posts, batch.facets
    rows = [r for r in batch.posts if r[POST_ID] not in existing]
    facets = [f for f in batch.facets if f[2] not in existing]
    return rows, facets


def _id_range(rows: Sequence[tuple[Any, ...]]) -> tuple[int, int]:
    ids = [r[POST_ID] for r in rows]
    return min(ids), max(ids)


def _write_sqlite(conn: Any, batch: PostBatch) -> BatchResult:
    # BEGIN IMMEDIATE takes the write lock first, so the existence check below stays true until
    # commit, and the trigger drop is never visible to other connections (SQLite DDL is
    # transactional).
    with _bulk_checkpoints(conn):
        return _write_sqlite_transaction(conn, batch)


@contextmanager
def _bulk_checkpoints(conn: Any) -> Iterator[None]:
    """Checkpoint the WAL every `_BULK_CHECKPOINT_BYTES` while bulk loading, then restore the
    connection's own setting.

    Fewer, longer copies than SQLite's default of 1 000 pages: measured 3.9 → 2.1 µs of CPU per
    post with 4 KB pages. Counted in bytes, not pages: with 16 KB pages (`db.SQLITE_PAGE_SIZE`)
    the same 16 384 pages let the WAL grow to 256 MB, and a file that keeps growing costs the
    kernel new blocks and page-cache pages on every write, where a 64 MB one is reused after
    each checkpoint: writing 200 k staged posts 11.5/11.7 → 10.1/9.7 µs of CPU per post
    (system time 4.0 → 2.1); 32 MB and 128 MB within noise of 64.
    """
    (checkpoint_pages,) = conn.execute("PRAGMA wal_autocheckpoint").fetchone()
    (page_size,) = conn.execute("PRAGMA main.page_size").fetchone()
    bulk_pages = max(checkpoint_pages, _BULK_CHECKPOINT_BYTES // int(page_size))
    conn.execute(f"PRAGMA wal_autocheckpoint = {bulk_pages}")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA wal_autocheckpoint = {int(checkpoint_pages)}")


def _write_sqlite_transaction(conn: Any, batch: PostBatch) -> BatchResult:
    conn.execute("BEGIN IMMEDIATE")
    try:
        before = conn.total_changes
        conn.executemany(_SQLITE_INSERT_USERS, batch.users)
        new_users = conn.total_changes - before
        rows, facets = batch.posts, batch.facets
        written = 0
        if rows:
            width = len(POST_COLUMNS)
            low, high = _id_range(rows)
            existing = {
                r[0]
                for r in conn.execute("SELECT id FROM posts WHERE id BETWEEN ? AND ?", (low, high))
            }
            rows, facets = _new_posts(existing, batch)
            written = len(rows)
            post_chunks = _chunks(rows, width)
            facet_chunks = _chunks(facets, len(FACET_COLUMNS))
            trigger = conn.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
                (_FTS_TRIGGER,),
            ).fetchone()
            fast = trigger is not None and " ".join(trigger[0].split()) == _FTS_TRIGGER_SQL
            if fast:
                conn.execute(f"DROP TRIGGER {_FTS_TRIGGER}")
            _insert_chunks(conn, _SQLITE_POSTS_HEAD, width, post_chunks)
            if fast:
                _insert_chunks(conn, _SQLITE_FTS_HEAD, 2, _fts_chunks(post_chunks))
                conn.execute(trigger[0])
            _insert_chunks(conn, _SQLITE_FACETS_HEAD, len(FACET_COLUMNS), facet_chunks)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return BatchResult(posts=written, users=new_users)


# --- staged batches: SQLite rows bound in one process, written in another ------------------
#
# Measured for 200 k generated posts (CPU per post, 2-core box): binding rows into multi-row
# INSERTs on the target costs ≈ 20 µs, of which the B-tree and FTS work proper is ≈ 10 µs;
# binding the same rows into an index-free in-memory table costs 6.7 µs (executemany, 7.3 with
# multi-row VALUES), serialising it 0.2 µs, and `INSERT … SELECT` from the deserialised copy
# into the real tables 10.2 µs. So a staging process can take half of the writer's work.

_STAGE = "bulk_stage"
_STAGE_TABLES = (("p", POST_COLUMNS), ("f", FACET_COLUMNS), ("u", USER_COLUMNS))


def bind_flags_and_nulls_fast() -> None:
    """Make the sqlite3 module bind `True`/`False` and `None` in a third of the time, for the
    rest of this process (meant for a process that only stages batches).

    Why: the module binds int, float, str and bytearray directly, but passes any other value
    (bool is a subclass of int, None has its own type) through its adapter protocol first: a
    registry miss, then attribute look-ups for `__adapt__` and `__conform__`, ≈ 0.42 µs per
    value against 0.06 µs for an int. A post row holds about eight of them (four flags, the
    reference ids that are mostly NULL, `state_changed_at`): measured 7.3 → 4.9 µs per post
    for `stage_batch`. With an adapter registered the look-up hits at once (≈ 0.19 µs).
    The values bound stay the same: `int(True)` is the 1 the module binds for True anyway,
    and `{}.get(None)` is None (a C call, cheaper than a lambda), still bound as NULL.
    """
    import sqlite3

    sqlite3.register_adapter(bool, int)
    null: Callable[[None], None] = cast("Callable[[None], None]", {}.get)
    sqlite3.register_adapter(type(None), null)


def stage_batch(batch: PostBatch) -> bytes:
    """The batch as a serialised in-memory SQLite database (tables p, f, u in the column
    order of POST_COLUMNS, FACET_COLUMNS, USER_COLUMNS), for `write_staged`. Post rows may
    stop short of the columns of `POST_CONSTANTS` (STAGED_POST_COLUMNS): p has the columns
    the rows have.

    The staging columns have no declared type, so values keep the storage class the driver
    gives them, and the target columns apply their affinity on `INSERT … SELECT` exactly as
    they would to bound parameters: the stored rows are the ones `write_batch` writes.
    """
    import sqlite3

    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        conn.execute("BEGIN")
        tables = _STAGE_TABLES
        if batch.posts and len(batch.posts[0]) == len(STAGED_POST_COLUMNS):
            tables = (("p", STAGED_POST_COLUMNS), *_STAGE_TABLES[1:])
        for table, columns in tables:
            conn.execute(f"CREATE TABLE {table} ({', '.join(columns)})")
        for (table, columns), rows in zip(
            tables, (batch.posts, batch.facets, batch.users), strict=True
        ):
            if rows:
                # executemany: no other thread in this process wants the GIL.
                marks = ", ".join(["?"] * len(columns))
                conn.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
        conn.execute("COMMIT")
        return conn.serialize()
    finally:
        conn.close()


def write_staged(engine: Engine, staged: bytes | memoryview) -> BatchResult:
    """Write a `stage_batch` database into SQLite in one transaction, skipping posts and users
    already present, the FTS index kept as `write_batch` keeps it."""
    if engine.dialect.name != "sqlite":
        raise TypeError("staged batches are for SQLite")
    raw = engine.raw_connection()
    try:
        conn: Any = raw.driver_connection
        # ATTACH is refused inside a transaction; the pool hands connections back rolled back.
        conn.execute(f"ATTACH DATABASE ':memory:' AS {_STAGE}")
        try:
            conn.deserialize(staged, name=_STAGE)
            with _bulk_checkpoints(conn):
                return _write_staged_transaction(conn)
        finally:
            conn.execute(f"DETACH DATABASE {_STAGE}")
    finally:
        raw.close()


def _write_staged_transaction(conn: Any) -> BatchResult:
    conn.execute("BEGIN IMMEDIATE")  # the write lock first: the checks below hold to commit
    try:
        before = conn.total_changes
        conn.execute(
            f"INSERT OR IGNORE INTO {users.name} ({', '.join(USER_COLUMNS)}) "
            f"SELECT {', '.join(USER_COLUMNS)} FROM {_STAGE}.u"
        )
        new_users = conn.total_changes - before
        low, high, count = conn.execute(
            f"SELECT min(id), max(id), count(*) FROM {_STAGE}.p"
        ).fetchone()
        written = 0
        if count:
            present = f"SELECT id FROM {posts.name} WHERE id BETWEEN {int(low)} AND {int(high)}"
            if conn.execute(f"SELECT EXISTS ({present})").fetchone()[0]:  # a rerun
                conn.execute(f"DELETE FROM {_STAGE}.p WHERE id IN ({present})")
                conn.execute(
                    f"DELETE FROM {_STAGE}.f WHERE post_id NOT IN (SELECT id FROM {_STAGE}.p)"
                )
            (written,) = conn.execute(f"SELECT count(*) FROM {_STAGE}.p").fetchone()
            post_columns = ", ".join(POST_COLUMNS)
            staged = [row[1] for row in conn.execute(f"PRAGMA {_STAGE}.table_info(p)")]
            left_out = POST_COLUMNS[len(staged) :]
            if tuple(staged) != POST_COLUMNS[: len(staged)] or not set(left_out) <= set(
                POST_CONSTANTS
            ):
                raise ValueError(f"staged posts have unexpected columns: {staged}")
            # The columns the staged rows left out, bound as the values every row has.
            selected = ", ".join([*staged, *("?" for _ in left_out)])
            constants = [POST_CONSTANTS[name] for name in left_out]
            trigger = conn.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
                (_FTS_TRIGGER,),
            ).fetchone()
            fast = trigger is not None and " ".join(trigger[0].split()) == _FTS_TRIGGER_SQL
            if fast:
                conn.execute(f"DROP TRIGGER {_FTS_TRIGGER}")
            conn.execute(
                f"INSERT INTO {posts.name} ({post_columns}) SELECT {selected} FROM {_STAGE}.p",
                constants,
            )
            if fast:
                conn.execute(
                    "INSERT INTO posts_fts(rowid, search_text) "
                    f"SELECT id, search_text FROM {_STAGE}.p"
                )
                conn.execute(trigger[0])
            facet_columns = ", ".join(FACET_COLUMNS)
            conn.execute(
                f"INSERT OR IGNORE INTO {post_facets.name} ({facet_columns}) "
                f"SELECT {facet_columns} FROM {_STAGE}.f"
            )
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return BatchResult(posts=written, users=new_users)


def _write_postgres(conn: Any, batch: PostBatch) -> BatchResult:
    import psycopg

    try:
        with conn.cursor() as cur:
            new_users = 0
            if batch.users:
                ids = [u[USER_ID] for u in batch.users]
                cur.execute("SELECT count(*) FROM users WHERE id = ANY(%s)", (ids,))
                present = cur.fetchone()[0]
                cur.executemany(
                    f"INSERT INTO users ({', '.join(USER_COLUMNS)}) "
                    f"VALUES ({_placeholders(len(USER_COLUMNS), '%s')}) ON CONFLICT DO NOTHING",
                    batch.users,
                )
                cur.execute("SELECT count(*) FROM users WHERE id = ANY(%s)", (ids,))
                new_users = cur.fetchone()[0] - present
            rows, facets = batch.posts, batch.facets
            if rows:
                low, high = _id_range(rows)
                # Lock out concurrent writers of the same ids for the check-then-COPY below.
                cur.execute("SELECT pg_advisory_xact_lock(hashtext('tollhouse.corpus.bulk'))")
                cur.execute("SELECT id FROM posts WHERE id BETWEEN %s AND %s", (low, high))
                rows, facets = _new_posts({r[0] for r in cur.fetchall()}, batch)
                try:
                    with conn.transaction():  # savepoint: fall back if someone else won a race
                        _copy(cur, "posts", POST_COLUMNS, rows)
                except psycopg.errors.UniqueViolation:
                    cur.executemany(
                        f"INSERT INTO posts ({', '.join(POST_COLUMNS)}) "
                        f"VALUES ({_placeholders(len(POST_COLUMNS), '%s')}) "
                        "ON CONFLICT DO NOTHING",
                        rows,
                    )
                if facets:
                    _copy_facets(conn, cur, facets)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return BatchResult(posts=len(rows), users=new_users)


def _copy(cur: Any, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _copy_facets(conn: Any, cur: Any, facets: Sequence[tuple[str, str, int]]) -> None:
    # A post's facets are distinct and its id is new, so plain COPY cannot conflict; the
    # savepoint only guards against a concurrent writer of the same post.
    import psycopg

    try:
        with conn.transaction():
            _copy(cur, "post_facets", FACET_COLUMNS, facets)
    except psycopg.errors.UniqueViolation:
        cur.executemany(
            "INSERT INTO post_facets (kind, value, post_id) VALUES (%s, %s, %s) "
            "ON CONFLICT DO NOTHING",
            facets,
        )
