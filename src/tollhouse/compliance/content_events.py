"""Content events: every change of a post's or user's state, with its time, and what it does to
the served corpus.

Event names are X's compliance-stream names. Recording an event also applies it to the corpus
row (deleted, withheld, protected, suspended…), which is what the data API reads to hide removed
content, so the API and the events never disagree. Events may be backdated (`at`); the corpus
then shows the newest state recorded, and the folds below answer "what state at time t".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tollhouse.access.models import admin_audit
from tollhouse.compliance.clock import Clock, utc_now
from tollhouse.compliance.errors import InvalidContentEvent
from tollhouse.compliance.models import content_events
from tollhouse.corpus.models import ContentState, posts, users

Subject = Literal["post", "user"]

POST_EVENTS = frozenset({"delete", "tweet_edit", "withheld", "scrub_geo"})
USER_EVENTS = frozenset(
    {
        "user_delete",
        "user_undelete",
        "user_protect",
        "user_unprotect",
        "user_suspend",
        "user_unsuspend",
        "user_withheld",
        "user_profile_modification",
        "scrub_geo",
    }
)
PROFILE_FIELDS = {
    "profile.name": "name",
    "profile.location": "location",
    "profile.description": "description",
    "profile.url": "url",
    "profileImage.url": "profile_image_url",
    "profileImage": "profile_image_url",
    "profileBanner.url": None,
    "profileBanner": None,
}
# Events that oblige a licensee holding the subject to delete or update its copy; the reversing
# ones (undelete, unprotect, unsuspend) oblige nothing.
OBLIGING = frozenset(
    {
        "delete",
        "tweet_edit",
        "withheld",
        "scrub_geo",
        "user_delete",
        "user_protect",
        "user_suspend",
        "user_withheld",
        "user_profile_modification",
    }
)
_MAX_ID = (1 << 63) - 1


@dataclass(frozen=True, slots=True)
class ContentEvent:
    """One change of state. `id` is None until stored."""

    subject: Subject
    subject_id: int
    event: str
    occurred_at: datetime
    details: Mapping[str, Any] = field(default_factory=dict)
    id: int | None = None

    @property
    def key(self) -> str:
        """A stable name of the event (notices are keyed by it)."""
        return f"e{self.id}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "subject": self.subject,
            "subject_id": str(self.subject_id),
            "event": self.event,
            "occurred_at": self.occurred_at.isoformat(),
            **dict(self.details),
        }


def _id(value: Any, name: str) -> int:
    text = str(value)
    if not text.isascii() or not text.isdigit() or int(text) > _MAX_ID or int(text) < 1:
        raise InvalidContentEvent(f"`{name}` must be a numeric id, not [{text}]")
    return int(text)


def _countries(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise InvalidContentEvent("`withheld_in_countries` must be a non-empty list of codes")
    codes = [str(c).upper() for c in value]
    if not all(len(c) == 2 and c.isascii() and c.isalpha() for c in codes):
        raise InvalidContentEvent("`withheld_in_countries` holds two-letter country codes")
    return codes


def _time(value: Any) -> datetime:
    try:
        at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidContentEvent(f"`at` is not an ISO 8601 time: [{value}]") from exc
    if at.tzinfo is None:
        raise InvalidContentEvent("`at` must carry its time zone (e.g. Z)")
    return at.astimezone(UTC)


def parse_event(raw: Mapping[str, Any], now: datetime) -> ContentEvent:
    """A content event from its wire form: `{"type": …, "tweet_id"|"user_id": …, "at"?: …}`
    plus what the type carries (withheld_in_countries, edit_tweet_ids, up_to_tweet_id,
    profile_field and new_value)."""
    if not isinstance(raw, Mapping):
        raise InvalidContentEvent("each event must be an object")
    kind = raw.get("type")
    if not isinstance(kind, str) or kind not in POST_EVENTS | USER_EVENTS:
        known = ", ".join(sorted(POST_EVENTS | USER_EVENTS))
        raise InvalidContentEvent(f"`type` must be one of {known}, not [{kind}]")
    at = _time(raw["at"]) if raw.get("at") is not None else now
    details: dict[str, Any] = {}
    subject: Subject
    if kind in POST_EVENTS and "tweet_id" in raw:
        subject, subject_id = "post", _id(raw["tweet_id"], "tweet_id")
    elif kind in USER_EVENTS and "user_id" in raw:
        subject, subject_id = "user", _id(raw["user_id"], "user_id")
    else:
        wanted = "tweet_id" if kind in POST_EVENTS - {"scrub_geo"} else "user_id"
        if kind == "scrub_geo":
            wanted = "tweet_id or user_id"
        raise InvalidContentEvent(f"a `{kind}` event needs `{wanted}`")
    if kind in ("withheld", "user_withheld"):
        details["withheld_in_countries"] = _countries(raw.get("withheld_in_countries"))
    elif kind == "tweet_edit":
        edits = raw.get("edit_tweet_ids") or [subject_id]
        if not isinstance(edits, list):
            raise InvalidContentEvent("`edit_tweet_ids` must be a list of ids")
        details["edit_tweet_ids"] = [str(_id(e, "edit_tweet_ids")) for e in edits]
        details["initial_tweet_id"] = str(
            _id(raw.get("initial_tweet_id", edits[0]), "initial_tweet_id")
        )
    elif kind == "scrub_geo" and subject == "user":
        details["up_to_tweet_id"] = str(_id(raw.get("up_to_tweet_id", _MAX_ID), "up_to_tweet_id"))
    elif kind == "user_profile_modification":
        profile_field = raw.get("profile_field")
        if profile_field not in PROFILE_FIELDS:
            raise InvalidContentEvent(
                f"`profile_field` must be one of {', '.join(PROFILE_FIELDS)}, not [{profile_field}]"
            )
        details["profile_field"] = profile_field
        details["new_value"] = str(raw.get("new_value", ""))[:2000]
    return ContentEvent(subject, subject_id, kind, at, details)


def record(
    engine: Engine,
    events: Sequence[ContentEvent],
    clock: Clock = utc_now,
    actor: str | None = None,
) -> list[ContentEvent]:
    """Store `events` and apply them to the corpus, in one transaction; the stored events.
    `actor`: the operator sending them, recorded in the admin audit trail."""
    with engine.begin() as conn:
        return record_in(conn, events, clock, actor)


def record_in(
    conn: Connection,
    events: Sequence[ContentEvent],
    clock: Clock = utc_now,
    actor: str | None = None,
) -> list[ContentEvent]:
    stored = []
    recorded_at = clock()
    for e in sorted(events, key=lambda e: e.occurred_at):
        new_id = conn.execute(
            content_events.insert()
            .values(
                subject=e.subject,
                subject_id=e.subject_id,
                event=e.event,
                occurred_at=e.occurred_at,
                details=dict(e.details) or None,
                recorded_at=recorded_at,
            )
            .returning(content_events.c.id)
        ).scalar_one()
        stored.append(
            ContentEvent(e.subject, e.subject_id, e.event, e.occurred_at, e.details, new_id)
        )
        _apply(conn, e)
    if actor is not None:
        conn.execute(
            admin_audit.insert(),
            [
                {
                    "at": recorded_at,
                    "actor": actor,
                    "action": "content.event",
                    "target_type": e.subject,
                    "target": str(e.subject_id),
                    "before": None,
                    "after": e.as_dict(),
                }
                for e in stored
            ],
        )
    return stored


def _apply(conn: Connection, e: ContentEvent) -> None:
    """Make the corpus serve what the event says (the newest state wins)."""
    if e.subject == "post":
        t = posts
        values: dict[str, Any] = {}
        if e.event == "delete":
            values = {"state": ContentState.DELETED.value}
        elif e.event == "withheld":
            values = {
                "state": ContentState.WITHHELD.value,
                "withheld": {"country_codes": list(e.details["withheld_in_countries"])},
            }
        if values:
            conn.execute(
                sa.update(t)
                .where(t.c.id == e.subject_id)
                .where(
                    sa.or_(t.c.state_changed_at.is_(None), t.c.state_changed_at <= e.occurred_at)
                )
                .values(**values, state_changed_at=e.occurred_at)
            )
        return
    u = users
    active = ContentState.ACTIVE.value
    where: list[Any] = [u.c.id == e.subject_id]
    changes: dict[str, Any] = {}
    match e.event:
        case "user_delete":
            changes = {"state": ContentState.DELETED.value}
        case "user_undelete":
            changes, where = {"state": active}, [*where, u.c.state == ContentState.DELETED.value]
        case "user_suspend":
            changes = {"state": ContentState.SUSPENDED.value}
        case "user_unsuspend":
            changes, where = {"state": active}, [*where, u.c.state == ContentState.SUSPENDED.value]
        case "user_protect":
            changes = {"protected": True}
        case "user_unprotect":
            changes = {"protected": False}
        case "user_withheld":
            changes = {
                "state": ContentState.WITHHELD.value,
                "withheld": {"country_codes": list(e.details["withheld_in_countries"])},
            }
        case "user_profile_modification":
            column = PROFILE_FIELDS[e.details["profile_field"]]
            if column is not None:
                value = e.details["new_value"]
                conn.execute(sa.update(u).where(*where).values({column: value}))
            return
    if changes:
        if "state" in changes:
            changes["state_changed_at"] = e.occurred_at
        conn.execute(sa.update(u).where(*where).values(**changes))


def events_of(
    conn: Connection,
    subject: Subject,
    ids: Iterable[int],
    until: datetime | None = None,
    chunk: int = 5_000,
) -> dict[int, list[ContentEvent]]:
    """The events of `ids` (oldest first), up to and including `until`."""
    wanted = sorted(set(ids))
    t = content_events.c
    found: dict[int, list[ContentEvent]] = {}
    for i in range(0, len(wanted), chunk):
        stmt = sa.select(content_events).where(
            t.subject == subject, t.subject_id.in_(wanted[i : i + chunk])
        )
        if until is not None:
            stmt = stmt.where(t.occurred_at <= until)
        for row in conn.execute(stmt.order_by(t.occurred_at, t.id)):
            found.setdefault(row.subject_id, []).append(_from_row(row))
    return found


def event_of_row(row: Any) -> ContentEvent:
    """A content event from its table row."""
    return _from_row(row)


def _from_row(row: Any) -> ContentEvent:
    at = _utc(row.occurred_at)
    return ContentEvent(row.subject, row.subject_id, row.event, at, row.details or {}, row.id)


def events_between(
    conn: Connection, start: datetime | None = None, end: datetime | None = None
) -> list[ContentEvent]:
    """Every event with start <= occurred_at < end, oldest first."""
    t = content_events.c
    stmt = sa.select(content_events)
    if start is not None:
        stmt = stmt.where(t.occurred_at >= start)
    if end is not None:
        stmt = stmt.where(t.occurred_at < end)
    return [_from_row(r) for r in conn.execute(stmt.order_by(t.occurred_at, t.id))]


def record_post_deletions(engine: Engine, post_ids: Iterable[int]) -> list[ContentEvent]:
    """Record a `delete` event, at the time the corpus gives, for each of `post_ids` the corpus
    shows deleted and that has none yet (deletions sent through the ingest API). Idempotent."""
    wanted = sorted(set(post_ids))
    if not wanted:
        return []
    with engine.begin() as conn:
        deleted = conn.execute(
            sa.select(posts.c.id, posts.c.state_changed_at).where(
                posts.c.id.in_(wanted), posts.c.state == ContentState.DELETED.value
            )
        ).all()
        t = content_events.c
        known = set(
            conn.execute(
                sa.select(t.subject_id).where(
                    t.subject == "post", t.event == "delete", t.subject_id.in_(wanted)
                )
            ).scalars()
        )
        events = [
            ContentEvent("post", pid, "delete", _utc(at) if at is not None else utc_now())
            for pid, at in deleted
            if pid not in known
        ]
        return record_in(conn, events) if events else []


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
