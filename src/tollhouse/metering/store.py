"""Writing usage events to the SQL store, exactly once.

One transaction per batch: stage the batch (executemany on SQLite, `COPY` on PostgreSQL), drop
the events already stored (a replayed spool), insert the rest, and update rollups and sketches
from exactly those rows. A replay therefore never counts an event twice, in the raw table or in
the rollups. Raw DB-API calls are used here because this is the ingest hot loop (see
bench/metering.py); everything else goes through SQLAlchemy Core.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tollhouse.metering import sketches
from tollhouse.metering.event import UsageEvent
from tollhouse.metering.models import UNKNOWN_ID, usage_sketches

_EPOCH_NAIVE = datetime(1970, 1, 1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_HOUR_US = 3_600_000_000
_DAY_US = 86_400_000_000

EVENT_COLUMNS = (
    "request_id",
    "occurred_at",
    "org_id",
    "app_id",
    "key_id",
    "endpoint",
    "method",
    "status",
    "posts",
    "new_posts",
    "bytes",
    "duration_us",
    "client_ip",
    "user_agent",
    "end_user",
    "end_user_id",
)
_STAGING_COLUMNS = (*EVENT_COLUMNS, "hour")
_COLS = ", ".join(EVENT_COLUMNS)

_SQLITE_STAGING = """CREATE TEMP TABLE IF NOT EXISTS usage_staging (
 request_id TEXT NOT NULL, occurred_at TEXT NOT NULL, org_id INTEGER, app_id INTEGER,
 key_id TEXT, endpoint TEXT NOT NULL, method TEXT NOT NULL, status INTEGER NOT NULL,
 posts INTEGER NOT NULL, new_posts INTEGER NOT NULL, bytes INTEGER NOT NULL,
 duration_us INTEGER NOT NULL, client_ip TEXT, user_agent TEXT, end_user TEXT,
 end_user_id INTEGER, hour TEXT NOT NULL)"""
_PG_STAGING = """CREATE TEMP TABLE IF NOT EXISTS usage_staging (
 request_id varchar(36) NOT NULL, occurred_at timestamptz NOT NULL, org_id bigint,
 app_id bigint, key_id varchar(64), endpoint varchar(64) NOT NULL, method varchar(8) NOT NULL,
 status smallint NOT NULL, posts integer NOT NULL, new_posts integer NOT NULL,
 bytes bigint NOT NULL, duration_us bigint NOT NULL, client_ip varchar(64),
 user_agent varchar(512), end_user varchar(200), end_user_id bigint, hour timestamptz NOT NULL
) ON COMMIT DELETE ROWS"""

_ROLLUP_UPSERT = """INSERT INTO usage_rollups
 (org_id, hour, app_id, endpoint, status_class, requests, posts, new_posts, bytes, errors)
SELECT COALESCE(org_id, 0), hour, COALESCE(app_id, 0), endpoint, status / 100, COUNT(*),
 SUM(posts), SUM(new_posts), SUM(bytes), SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END)
FROM usage_staging WHERE 1 = 1 GROUP BY 1, 2, 3, 4, 5
ON CONFLICT (org_id, hour, app_id, endpoint, status_class) DO UPDATE SET
 requests = usage_rollups.requests + excluded.requests,
 posts = usage_rollups.posts + excluded.posts,
 new_posts = usage_rollups.new_posts + excluded.new_posts,
 bytes = usage_rollups.bytes + excluded.bytes,
 errors = usage_rollups.errors + excluded.errors"""


def _sqlite_time(us: int) -> str:
    # The exact text SQLAlchemy's SQLite DateTime writes, so Core queries compare correctly.
    return (_EPOCH_NAIVE + timedelta(microseconds=us)).isoformat(" ", "microseconds")


def _pg_time(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _rows(
    events: Sequence[UsageEvent], end_user_ids: dict[tuple[int | None, str], int]
) -> list[tuple[Any, ...]]:
    return [
        (
            e.request_id,
            e.occurred_us,
            e.org_id,
            e.app_id,
            e.key_id,
            e.endpoint,
            e.method,
            e.status,
            e.posts,
            e.new_posts,
            e.bytes,
            e.duration_us,
            e.client_ip,
            e.user_agent,
            e.end_user,
            end_user_ids.get((e.org_id, e.end_user)) if e.end_user else None,
            e.occurred_us - e.occurred_us % _HOUR_US,
        )
        for e in events
    ]


def record_events(engine: Engine, events: Iterable[UsageEvent]) -> int:
    """Store `events` in one transaction; return how many were new (the rest were stored
    before). Rollups and sketches grow by the new ones only."""
    unique = list({e.request_id: e for e in events}.values())
    if not unique:
        return 0
    with engine.begin() as conn:
        return record_events_in(conn, unique)


def record_events_in(conn: Connection, events: Sequence[UsageEvent]) -> int:
    """`record_events` inside a transaction the caller owns (events already unique)."""
    end_user_ids = _resolve_end_users(conn, events)
    rows = _rows(events, end_user_ids)
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    cursor = dbapi.cursor()
    try:
        if conn.dialect.name == "sqlite":
            _stage_sqlite(cursor, rows)
        else:
            _stage_postgresql(cursor, rows)
        cursor.execute(_ROLLUP_UPSERT)
        if any(e.post_ids and e.org_id is not None for e in events):
            cursor.execute("SELECT request_id FROM usage_staging")
            inserted = {r[0] for r in cursor.fetchall()}
            _update_sketches(conn, [e for e in events if e.request_id in inserted])
        cursor.execute("SELECT COUNT(*) FROM usage_staging")
        (count,) = cursor.fetchone() or (0,)
        if conn.dialect.name == "sqlite":
            cursor.execute("DELETE FROM usage_staging")
        return int(count)
    finally:
        cursor.close()


def _stage_sqlite(cursor: Any, rows: list[tuple[Any, ...]]) -> None:
    cursor.execute(_SQLITE_STAGING)
    cursor.execute("DELETE FROM usage_staging")
    for i, row in enumerate(rows):
        rows[i] = (
            row[0],
            _sqlite_time(row[1]),
            *row[2:16],
            _sqlite_time(row[16]),
        )
    marks = ", ".join("?" * len(_STAGING_COLUMNS))
    cursor.executemany(f"INSERT INTO usage_staging VALUES ({marks})", rows)
    # Drop what a previous run already stored (spool replay). Plain INSERT below, not OR IGNORE:
    # if another process stores the same id between these two statements the transaction fails
    # and is retried, instead of the rollups silently counting it twice.
    cursor.execute(
        "DELETE FROM usage_staging WHERE EXISTS (SELECT 1 FROM usage_events e"
        " WHERE e.request_id = usage_staging.request_id)"
    )
    cursor.execute(f"INSERT INTO usage_events ({_COLS}) SELECT {_COLS} FROM usage_staging")


def _stage_postgresql(cursor: Any, rows: list[tuple[Any, ...]]) -> None:
    cursor.execute(_PG_STAGING)
    with cursor.copy(f"COPY usage_staging ({', '.join(_STAGING_COLUMNS)}) FROM STDIN") as copy:
        write = copy.write_row
        for row in rows:
            write((row[0], _pg_time(row[1]), *row[2:16], _pg_time(row[16])))
    # ON CONFLICT DO NOTHING decides, under concurrency too, which rows are new; only those stay
    # staged for the rollups.
    cursor.execute(
        f"WITH ins AS (INSERT INTO usage_events ({_COLS}) SELECT {_COLS} FROM usage_staging"
        " ON CONFLICT (request_id) DO NOTHING RETURNING request_id)"
        " DELETE FROM usage_staging s WHERE NOT EXISTS"
        " (SELECT 1 FROM ins WHERE ins.request_id = s.request_id)"
    )


def _update_sketches(conn: Connection, events: Sequence[UsageEvent]) -> None:
    by_key: dict[tuple[int, date, int], Any] = defaultdict(sketches.new_sketch)
    for e in events:
        if not e.post_ids or e.org_id is None:
            continue
        day = (_EPOCH + timedelta(microseconds=e.occurred_us - e.occurred_us % _DAY_US)).date()
        sketch = by_key[(e.org_id, day, e.app_id if e.app_id is not None else UNKNOWN_ID)]
        update = sketch.update
        for post_id in e.post_ids:
            update(post_id)
    t = usage_sketches.c
    for (org_id, day, app_id), sketch in by_key.items():
        key = (t.org_id == org_id) & (t.day == day) & (t.app_id == app_id)
        select = sa.select(t.sketch).where(key)
        if conn.dialect.name == "postgresql":
            # Lock the day's row so two writers cannot both read-merge-write it.
            conn.execute(
                sa.text(
                    "INSERT INTO usage_sketches (org_id, day, app_id, sketch)"
                    " VALUES (:o, :d, :a, :s) ON CONFLICT DO NOTHING"
                ),
                {"o": org_id, "d": day, "a": app_id, "s": b""},
            )
            select = select.with_for_update()
        stored = conn.execute(select).scalar_one_or_none()
        merged = sketches.merge(stored or None, sketch)
        if stored is None:
            conn.execute(
                usage_sketches.insert().values(org_id=org_id, day=day, app_id=app_id, sketch=merged)
            )
        else:
            conn.execute(usage_sketches.update().where(key).values(sketch=merged))


def _resolve_end_users(
    conn: Connection, events: Sequence[UsageEvent]
) -> dict[tuple[int | None, str], int]:
    """Ids of the declared end users named in `events` ({(org_id, name): id}); names not
    declared by that organisation are stored with a NULL id — recorded, not rejected."""
    names = {(e.org_id, e.end_user) for e in events if e.end_user and e.org_id is not None}
    if not names:
        return {}
    from tollhouse.metering import end_users

    return end_users.resolve(conn, names)
