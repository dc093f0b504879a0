"""What a batch compliance job answers for a list of ids: one JSON line per id that has an event
(none for clean ids), `{"id": …, "error": "invalid_id"}` per line that is no id.

The state is the one at processing time (content_state). The result also names, per id, the
content events it tells the licensee of (notice keys), so that downloading it counts as notice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tollhouse.compliance import content_events, content_state
from tollhouse.compliance.content_events import OBLIGING
from tollhouse.compliance.content_state import Verdict
from tollhouse.compliance.models import content_events as content_events_table
from tollhouse.compliance.timefmt import x_time
from tollhouse.corpus.ids import created_at_of
from tollhouse.corpus.models import posts, users

JobType = Literal["tweets", "users"]
_CHUNK = 5_000


@dataclass(frozen=True, slots=True)
class ResultLine:
    id: int
    verdict: Verdict
    created_at: datetime | None
    notice_keys: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        line: dict[str, Any] = {"id": str(self.id), "action": self.verdict.action}
        if self.created_at is not None:
            line["created_at"] = x_time(self.created_at)
        if self.verdict.redacted_at is not None:
            line["redacted_at"] = x_time(self.verdict.redacted_at)
        line["reason"] = self.verdict.reason
        return line


def notice_key(subject: str, subject_id: int, event_id: int) -> str:
    """The name of "organisation was told that event `event_id` touches `subject_id`"."""
    return f"{subject}:{subject_id}:e{event_id}"


def _utc(at: datetime | None) -> datetime | None:
    if at is None:
        return None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


# The uploaded ids, staged in a temporary table for the duration of one evaluation: posts and
# their events are then found by joining a range of it, not by IN lists of thousands of bound
# parameters (whose compilation was most of a job's time, bench/holdings.py).
_staged = sa.Table(
    "compliance_job_ids",
    sa.MetaData(),
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
_STAGE_BATCH = 50_000


def _stage(conn: Connection, ids: Sequence[int]) -> None:
    _staged.create(conn, checkfirst=conn.dialect.name == "sqlite")
    if conn.dialect.name == "sqlite":
        conn.execute(_staged.delete())
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    cursor = dbapi.cursor()
    try:
        if conn.dialect.name == "postgresql":
            with cursor.copy("COPY compliance_job_ids (id) FROM STDIN") as copy:
                for id_ in ids:
                    copy.write_row((id_,))
        else:
            for i in range(0, len(ids), _STAGE_BATCH):
                cursor.executemany(
                    "INSERT INTO compliance_job_ids (id) VALUES (?)",
                    [(id_,) for id_ in ids[i : i + _STAGE_BATCH]],
                )
    finally:
        cursor.close()


def evaluate(
    conn: Connection, job_type: JobType, ids: Sequence[int], at: datetime
) -> list[ResultLine]:
    """The result lines for `ids` (distinct, sorted) as of `at`. Runs inside the caller's
    transaction (the staged ids live as long as it)."""
    out: list[ResultLine] = []
    if job_type == "tweets":
        _stage(conn, ids)
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        if job_type == "tweets":
            out.extend(_tweets(conn, chunk, at))
        else:
            out.extend(_users(conn, chunk, at))
    return out


def _staged_post_events(
    conn: Connection, lo: int, hi: int, at: datetime
) -> dict[int, list[content_events.ContentEvent]]:
    t = content_events_table.c
    stmt = (
        sa.select(content_events_table)
        .select_from(_staged.join(content_events_table, t.subject_id == _staged.c.id))
        .where(_staged.c.id.between(lo, hi), t.subject == "post", t.occurred_at <= at)
        .order_by(t.occurred_at, t.id)
    )
    found: dict[int, list[content_events.ContentEvent]] = {}
    for row in conn.execute(stmt):
        found.setdefault(row.subject_id, []).append(content_events.event_of_row(row))
    return found


def _obliging_keys(
    subject: str, subject_id: int, events: Iterable[content_events.ContentEvent]
) -> list[str]:
    return [notice_key(subject, subject_id, e.id) for e in events if e.event in OBLIGING and e.id]


def _tweets(conn: Connection, ids: Sequence[int], at: datetime) -> list[ResultLine]:
    p = posts.c
    lo, hi = ids[0], ids[-1]
    stmt = (
        sa.select(p.id, p.author_id, p.created_at, p.state, p.state_changed_at)
        .select_from(_staged.join(posts, p.id == _staged.c.id))
        .where(_staged.c.id.between(lo, hi))
    )
    rows = {r.id: r for r in conn.execute(stmt)}
    post_events = _staged_post_events(conn, lo, hi, at)
    author_ids = {r.author_id for r in rows.values()}
    author_rows = _user_rows(conn, author_ids)
    author_events = content_events.events_of(conn, "user", author_ids, until=at)
    author_states = {
        a: content_state.user_state(author_events.get(a, []), author_rows.get(a))
        for a in author_ids
    }
    lines = []
    for post_id in ids:
        row = rows.get(post_id)
        events = post_events.get(post_id, [])
        if row is None and not events:
            continue  # never in the corpus: nothing to say
        author = author_states.get(row.author_id) if row is not None else None
        verdict = content_state.post_verdict(post_id, events, _normal(row), author)
        if verdict is None:
            continue
        keys = _obliging_keys("post", post_id, events)
        if row is not None:
            keys += _obliging_keys("post", post_id, author_events.get(row.author_id, []))
        created = _utc(row.created_at) if row is not None else created_at_of(post_id)
        lines.append(ResultLine(post_id, verdict, created, tuple(keys)))
    return lines


def _users(conn: Connection, ids: Sequence[int], at: datetime) -> list[ResultLine]:
    rows = _user_rows(conn, ids)
    user_events = content_events.events_of(conn, "user", ids, until=at)
    lines = []
    for user_id in ids:
        row = rows.get(user_id)
        events = user_events.get(user_id, [])
        if row is None and not events:
            continue
        verdict = content_state.user_state(events, row).verdict()
        if verdict is None:
            continue
        created = _utc(row.created_at) if row is not None else None
        keys = tuple(_obliging_keys("user", user_id, events))
        lines.append(ResultLine(user_id, verdict, created, keys))
    return lines


class _Row:
    """A corpus row with its times in UTC (SQLite hands them back naive)."""

    def __init__(self, row: Any) -> None:
        self.state = row.state
        self.state_changed_at = _utc(row.state_changed_at)
        self.protected = getattr(row, "protected", False)
        self.created_at = _utc(row.created_at)


def _normal(row: Any | None) -> Any | None:
    return None if row is None else _Row(row)


def _user_rows(conn: Connection, ids: Iterable[int]) -> dict[int, Any]:
    wanted = list(ids)
    if not wanted:
        return {}
    u = users.c
    stmt = sa.select(u.id, u.created_at, u.state, u.state_changed_at, u.protected).where(
        u.id.in_(wanted)
    )
    return {r.id: _Row(r) for r in conn.execute(stmt)}


def encode(lines: Sequence[ResultLine], invalid: Sequence[str]) -> bytes:
    """The JSONL result: eventful ids, then the invalid lines."""
    parts = [orjson.dumps(line.as_dict()) for line in lines]
    parts.extend(orjson.dumps({"id": text, "error": "invalid_id"}) for text in invalid)
    return b"".join(p + b"\n" for p in parts)
