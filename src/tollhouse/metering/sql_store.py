"""Writing usage events to the SQL store, exactly once.

One transaction per batch: find which events of the batch are already stored (a replayed
spool), insert the rest, and update rollups and sketches from exactly those rows. A replay
therefore never counts an event twice, in the raw table or in the rollups (hourly, and the same
summed per UTC day for queries over whole days). SQLite: one
primary-key range scan, executemany, rollups summed in Python; PostgreSQL: `COPY` into a staging
table, `INSERT … ON CONFLICT DO NOTHING RETURNING`, rollups summed in SQL. Raw DB-API calls are
used because this is the ingest hot loop (bench/metering.py); the rest goes through Core.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tollhouse.metering import sketches
from tollhouse.metering.event import UsageEvent
from tollhouse.metering.models import UNKNOWN_ID, usage_sketches
from tollhouse.metering.network import client_network, pack_post_ids

_EPOCH_NAIVE = datetime(1970, 1, 1)
_SKETCH_SLICE = 1024  # post ids per uninterrupted C loop (~0.1-0.2 ms with the GIL held)
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
    "client_network",
    "query_string",
    "stream_rules",
    "post_ids",
)
_STAGING_COLUMNS = (*EVENT_COLUMNS, "hour")
_COLS = ", ".join(EVENT_COLUMNS)

_PG_STAGING = """CREATE TEMP TABLE IF NOT EXISTS usage_staging (
 request_id varchar(36) NOT NULL, occurred_at timestamptz NOT NULL, org_id bigint,
 app_id bigint, key_id varchar(64), endpoint varchar(64) NOT NULL, method varchar(8) NOT NULL,
 status smallint NOT NULL, posts integer NOT NULL, new_posts integer NOT NULL,
 bytes bigint NOT NULL, duration_us bigint NOT NULL, client_ip varchar(64),
 user_agent varchar(512), end_user varchar(200), end_user_id bigint,
 client_network varchar(64), query_string text, stream_rules json, post_ids bytea,
 hour timestamptz NOT NULL
) ON COMMIT DELETE ROWS"""


_SUMS = ("requests", "posts", "new_posts", "bytes", "errors")


def _rollup_upsert(table: str, period: str, source: str) -> str:
    """Add rows (key, requests, posts, new_posts, bytes, errors) from `source` (VALUES or a
    SELECT) to rollup `table`, whose time column is `period` (hour or day)."""
    key = f"org_id, {period}, app_id, endpoint, status_class"
    return (
        f"INSERT INTO {table} ({key}, requests, posts, new_posts, bytes, errors) {source}"
        f" ON CONFLICT ({key}) DO UPDATE SET"
        + ",".join(f" {c} = {table}.{c} + excluded.{c}" for c in _SUMS)
    )


_VALUES = "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_ROLLUP_UPSERT_VALUES = _rollup_upsert("usage_rollups", "hour", _VALUES)
_DAILY_UPSERT_VALUES = _rollup_upsert("usage_rollups_daily", "day", _VALUES)


# PostgreSQL: the staging table is grouped once per hour; the daily rollups are summed from
# those groups in the same statement (a data-modifying CTE always runs), not from staging again.
_ROLLUPS_UPSERT = (
    "WITH h AS (SELECT COALESCE(org_id, 0) AS org_id, hour, COALESCE(app_id, 0) AS app_id,"
    " endpoint, status / 100 AS status_class, COUNT(*) AS requests, SUM(posts) AS posts,"
    " SUM(new_posts) AS new_posts, SUM(bytes) AS bytes,"
    " SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END) AS errors"
    " FROM usage_staging GROUP BY 1, 2, 3, 4, 5),"
    " hourly AS ("
    + _rollup_upsert("usage_rollups", "hour", "SELECT * FROM h")
    + ") "
    + _rollup_upsert(
        "usage_rollups_daily",
        "day",
        "SELECT org_id, CAST(hour AT TIME ZONE 'UTC' AS date), app_id, endpoint, status_class,"
        " SUM(requests), SUM(posts), SUM(new_posts), SUM(bytes), SUM(errors) FROM h"
        " GROUP BY 1, 2, 3, 4, 5",
    )
)


_SECOND_TEXT: dict[int, str] = {}


def _second_text(second: int) -> str:
    # "YYYY-MM-DD HH:MM:SS" of a Unix second: with ".ffffff" appended, the exact text
    # SQLAlchemy's SQLite DateTime writes, so Core queries compare correctly.
    prefix = _SECOND_TEXT.get(second)
    if prefix is None:
        if len(_SECOND_TEXT) > 100_000:
            _SECOND_TEXT.clear()
        prefix = _SECOND_TEXT[second] = (_EPOCH_NAIVE + timedelta(seconds=second)).isoformat(" ")
    return prefix


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
            *_compliance_fields(e),
            e.occurred_us - e.occurred_us % _HOUR_US,
        )
        for e in events
    ]


def _compliance_fields(e: UsageEvent) -> tuple[Any, ...]:
    """client_network, query_string, stream_rules, post_ids: what compliance's rules read.
    Post ids are kept only for a known licensee (a refused request delivered nothing)."""
    return (
        client_network(e.client_ip),
        e.query_string,
        orjson.dumps(list(e.stream_rules)).decode() if e.stream_rules else None,
        pack_post_ids(e.post_ids) if e.org_id is not None else None,
    )


def record_events(
    engine: Engine, events: Iterable[UsageEvent], directory: Engine | None = None
) -> int:
    """Store `events` in one transaction; return how many were new (the rest were stored
    before). Rollups and sketches grow by the new ones only. `directory`: the database of the
    licensees (their declared end users), when the usage tables have one of their own."""
    unique = list({e.request_id: e for e in events}.values())
    if not unique:
        return 0
    end_user_ids = None
    if directory is not None and directory is not engine:
        with directory.connect() as conn:
            end_user_ids = _resolve_end_users(conn, unique)
    with engine.begin() as conn:
        return record_events_in(conn, unique, end_user_ids)


def record_events_in(
    conn: Connection,
    events: Sequence[UsageEvent],
    end_user_ids: dict[tuple[int | None, str], int] | None = None,
) -> int:
    """`record_events` inside a transaction the caller owns (events already unique); the
    declared end users are looked up on `conn` unless `end_user_ids` are given."""
    if end_user_ids is None:
        end_user_ids = _resolve_end_users(conn, events)
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    cursor = dbapi.cursor()
    try:
        if conn.dialect.name == "sqlite":
            inserted = _insert_sqlite(cursor, events, end_user_ids)
        else:
            inserted = _insert_postgresql(cursor, events, end_user_ids)
        if any(e.post_ids and e.org_id is not None for e in inserted):
            _update_sketches(conn, inserted)
        return len(inserted)
    finally:
        cursor.close()


def _insert_sqlite(
    cursor: Any, events: Sequence[UsageEvent], end_user_ids: dict[tuple[int | None, str], int]
) -> list[UsageEvent]:
    # Ids are UUIDv7 and a batch is a short span of time, so the ids already stored (a replayed
    # spool) are found with one primary-key range scan; normally it returns nothing.
    lo = min(e.request_id for e in events)
    hi = max(e.request_id for e in events)
    cursor.execute("SELECT request_id FROM usage_events WHERE request_id BETWEEN ? AND ?", (lo, hi))
    stored = {r[0] for r in cursor.fetchall()}
    new = [e for e in events if e.request_id not in stored] if stored else list(events)
    if not new:
        return []
    rows: list[tuple[Any, ...]] = []
    append = rows.append
    rollups: dict[tuple[Any, ...], list[int]] = {}
    # A batch is a short span of time: the "YYYY-MM-DD HH:MM:SS" text and the hour are made
    # again only when the second changes, not once per event.
    last_second = -1
    prefix = hour = ""
    for e in new:
        second, micro = divmod(e.occurred_us, 1_000_000)
        if second != last_second:
            prefix = _second_text(second)
            hour = prefix[:13] + ":00:00.000000"
            last_second = second
        append(
            (
                e.request_id,
                f"{prefix}.{micro:06d}",
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
                *_compliance_fields(e),
            )
        )
        key = (e.org_id or 0, hour, e.app_id or 0, e.endpoint, e.status // 100)
        acc = rollups.get(key)
        if acc is None:
            acc = rollups[key] = [0, 0, 0, 0, 0]
        acc[0] += 1
        acc[1] += e.posts
        acc[2] += e.new_posts
        acc[3] += e.bytes
        acc[4] += e.status >= 400
    # Plain INSERT, not OR IGNORE: if another process stores one of these ids after the scan
    # above, the transaction fails and is retried, instead of the rollups counting it twice.
    marks = ", ".join("?" * len(EVENT_COLUMNS))
    cursor.executemany(f"INSERT INTO usage_events ({_COLS}) VALUES ({marks})", rows)
    cursor.executemany(_ROLLUP_UPSERT_VALUES, [(*k, *v) for k, v in rollups.items()])
    cursor.executemany(_DAILY_UPSERT_VALUES, _daily(rollups))
    return new


def _daily(hourly: dict[tuple[Any, ...], list[int]]) -> list[tuple[Any, ...]]:
    """The batch's hourly rollups (hour as SQLite text) summed per UTC day."""
    daily: dict[tuple[Any, ...], list[int]] = {}
    for (org_id, hour, app_id, endpoint, status_class), sums in hourly.items():
        key = (org_id, hour[:10], app_id, endpoint, status_class)
        acc = daily.get(key)
        if acc is None:
            daily[key] = list(sums)
        else:
            for i, v in enumerate(sums):
                acc[i] += v
    return [(*k, *v) for k, v in daily.items()]


def _insert_postgresql(
    cursor: Any, events: Sequence[UsageEvent], end_user_ids: dict[tuple[int | None, str], int]
) -> list[UsageEvent]:
    _stage_postgresql(cursor, _rows(events, end_user_ids))
    cursor.execute(_ROLLUPS_UPSERT)
    cursor.execute("SELECT COUNT(*) FROM usage_staging")
    (count,) = cursor.fetchone() or (0,)
    if count == len(events):
        return list(events)
    cursor.execute("SELECT request_id FROM usage_staging")
    inserted = {r[0] for r in cursor.fetchall()}
    return [e for e in events if e.request_id in inserted]


def _stage_postgresql(cursor: Any, rows: list[tuple[Any, ...]]) -> None:
    cursor.execute(_PG_STAGING)
    with cursor.copy(f"COPY usage_staging ({', '.join(_STAGING_COLUMNS)}) FROM STDIN") as copy:
        write = copy.write_row
        for row in rows:
            write((row[0], _pg_time(row[1]), *row[2:-1], _pg_time(row[-1])))
    # ON CONFLICT DO NOTHING decides, under concurrency too, which rows are new; only those stay
    # staged for the rollups.
    cursor.execute(
        f"WITH ins AS (INSERT INTO usage_events ({_COLS}) SELECT {_COLS} FROM usage_staging"
        " ON CONFLICT (request_id) DO NOTHING RETURNING request_id)"
        " DELETE FROM usage_staging s WHERE NOT EXISTS"
        " (SELECT 1 FROM ins WHERE ins.request_id = s.request_id)"
    )


def _update_sketches(conn: Connection, events: Sequence[UsageEvent]) -> None:
    # Keyed by day number first; dates are made once per key, not once per event.
    # The ids are gathered per sketch first (list.extend runs in C), then fed to the sketch
    # by map(): the HLL has no bulk update, and this halves the per-id cost of a Python loop.
    # In slices, because a C loop never lets go of the GIL: in a server, this runs on the store
    # thread while strict requests wait for the GIL to be acknowledged.
    ids_by_key: dict[tuple[int, int, int], list[int]] = defaultdict(list)
    for e in events:
        if not e.post_ids or e.org_id is None:
            continue
        day_number = e.occurred_us // _DAY_US
        app_id = e.app_id if e.app_id is not None else UNKNOWN_ID
        ids_by_key[(e.org_id, day_number, app_id)].extend(e.post_ids)
    t = usage_sketches.c
    for (org_id, day_number, app_id), post_ids in ids_by_key.items():
        sketch = sketches.new_sketch()
        update = sketch.update
        for i in range(0, len(post_ids), _SKETCH_SLICE):
            deque(map(update, post_ids[i : i + _SKETCH_SLICE]), maxlen=0)
        day = (_EPOCH + timedelta(days=day_number)).date()
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
