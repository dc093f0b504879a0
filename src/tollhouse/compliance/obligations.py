"""Obligations: for every content event on a post or user an organisation had received before
the event, what it had to do and by when.

An obligation's deadline runs from the organisation's notice of the event (a compliance-stream
delivery to one of its apps, the download of a job result listing it, an operator's notice),
plus the agreement's `deletion_deadline_hours`. Status, as of `now`:

- `no_notice`: no notice channel told it (from the event on);
- `open`: told, deadline not yet passed;
- `late`: evidence that it still held the id after the deadline — it uploaded the id in a
  compliance job created later, or asked the API for it again (a UTC day after the deadline's);
- `met`: the deadline passed with no such evidence.

A user deletion becomes deletions of the user's posts 30 days later unless undone in between;
those derived obligations carry the user event's id. Receipt is known to the UTC day (the
ledger's grain): a post received on the day of its event counts as received before it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tollhouse.compliance import content_events
from tollhouse.compliance.content_events import OBLIGING, ContentEvent
from tollhouse.compliance.job_results import notice_key
from tollhouse.compliance.models import compliance_jobs
from tollhouse.compliance.notices import notices_of
from tollhouse.corpus.models import posts
from tollhouse.metering import ledger_queries
from tollhouse.metering.ledger import LedgerKind

USER_DELETE_GRACE = timedelta(days=30)
STATUSES = ("open", "met", "late", "no_notice")


@dataclass(frozen=True, slots=True)
class Obligation:
    org_id: int
    subject: str  # post or user
    subject_id: int
    event: str  # the content event's name; `delete` for a user deletion's posts
    event_id: int
    event_at: datetime
    received_first: date
    notice_at: datetime | None
    notice_channel: str | None
    deadline: datetime | None
    evidence_at: datetime | None  # first sign of holding after the deadline
    evidence: str | None  # "job_upload" or "asked_again"
    status: str

    @property
    def key(self) -> str:
        return notice_key(self.subject, self.subject_id, self.event_id)

    def as_dict(self) -> dict[str, Any]:
        def iso(at: datetime | None) -> str | None:
            return None if at is None else at.isoformat()

        return {
            "subject": self.subject,
            "id": str(self.subject_id),
            "event": self.event,
            "event_id": self.event_id,
            "event_at": iso(self.event_at),
            "received_first": self.received_first.isoformat(),
            "notice_at": iso(self.notice_at),
            "notice_channel": self.notice_channel,
            "deadline": iso(self.deadline),
            "evidence_at": iso(self.evidence_at),
            "evidence": self.evidence,
            "status": self.status,
            "key": self.key,
        }


@dataclass(frozen=True, slots=True)
class _Due:
    subject: str
    subject_id: int
    event: str
    event_id: int
    event_at: datetime


def _due_events(conn: Connection, now: datetime) -> list[_Due]:
    """Every obliging event up to `now`, plus the post deletions user deletions have become."""
    events = content_events.events_between(conn, None, now + timedelta(microseconds=1))
    due: list[_Due] = []
    by_user: dict[int, list[ContentEvent]] = defaultdict(list)
    for e in events:
        if e.subject == "user":
            by_user[e.subject_id].append(e)
        if e.event in OBLIGING and e.id is not None:
            due.append(_Due(e.subject, e.subject_id, e.event, e.id, e.occurred_at))
    for user_id, history in by_user.items():
        for i, e in enumerate(history):
            if e.event != "user_delete" or e.id is None:
                continue
            effective = e.occurred_at + USER_DELETE_GRACE
            if effective > now:
                continue
            undone = any(
                later.event == "user_undelete" and later.occurred_at <= effective
                for later in history[i + 1 :]
            )
            if undone:
                continue
            for (post_id,) in conn.execute(
                sa.select(posts.c.id).where(posts.c.author_id == user_id)
            ):
                due.append(_Due("post", post_id, "delete", e.id, effective))
    return due


def _uploads(conn: Connection, org_id: int) -> list[tuple[datetime, str, np.ndarray[Any, Any]]]:
    """(created_at, sorted uploaded ids) of the organisation's jobs that took an upload."""
    t = compliance_jobs.c
    out = []
    for created, blob, job_type in conn.execute(
        sa.select(t.created_at, t.uploaded_ids, t.type).where(
            t.org_id == org_id, t.uploaded_ids.is_not(None)
        )
    ):
        at = created.replace(tzinfo=UTC) if created.tzinfo is None else created.astimezone(UTC)
        out.append((at, job_type, np.frombuffer(blob, dtype=np.int64)))
    return out


def obligations(
    conn: Connection,
    usage: Connection,
    org_id: int,
    deadline_hours: int,
    now: datetime,
    app_ids: Sequence[int] | None = None,
) -> list[Obligation]:
    """Every obligation of `org_id` as of `now` (only receipts through `app_ids`, if given)."""
    due = _due_events(conn, now)
    if not due:
        return []
    received = {
        subject: ledger_queries.receipts(
            usage,
            {d.subject_id for d in due if d.subject == subject},
            kind,
            org_id=org_id,
            app_ids=app_ids,
        ).get(org_id, {})
        for subject, kind in (("post", LedgerKind.POSTS), ("user", LedgerKind.USERS))
    }
    notices = notices_of(conn, org_id)
    uploads = _uploads(conn, org_id)
    asked: dict[int, ledger_queries.Receipt] = {}
    post_ids = {d.subject_id for d in due if d.subject == "post"}
    if post_ids:
        asked = ledger_queries.receipts(
            usage, post_ids, LedgerKind.REFUSED_POSTS, org_id=org_id
        ).get(org_id, {})
    window = timedelta(hours=deadline_hours)
    out = []
    for d in due:
        receipt = received[d.subject].get(d.subject_id)
        if receipt is None or receipt.first_day > d.event_at.date():
            continue
        key = notice_key(d.subject, d.subject_id, d.event_id)
        notice = notices.get(key)
        notice_at = notice[1] if notice else None
        deadline = notice_at + window if notice_at is not None else None
        evidence_at, evidence = None, None
        if deadline is not None:
            job_type = "tweets" if d.subject == "post" else "users"
            for created, kind, ids in uploads:
                if kind != job_type or created <= deadline:
                    continue
                i = int(np.searchsorted(ids, d.subject_id))
                if (
                    i < len(ids)
                    and int(ids[i]) == d.subject_id
                    and (evidence_at is None or created < evidence_at)
                ):
                    evidence_at, evidence = created, "job_upload"
            ask = asked.get(d.subject_id) if d.subject == "post" else None
            if ask is not None and ask.last_day > deadline.date():
                at = datetime.combine(ask.last_day, datetime.min.time(), tzinfo=UTC)
                if evidence_at is None or at < evidence_at:
                    evidence_at, evidence = at, "asked_again"
        if notice_at is None:
            status = "no_notice"
        elif evidence_at is not None:
            status = "late"
        elif deadline is not None and now < deadline:
            status = "open"
        else:
            status = "met"
        out.append(
            Obligation(
                org_id,
                d.subject,
                d.subject_id,
                d.event,
                d.event_id,
                d.event_at,
                receipt.first_day,
                notice_at,
                notice[0] if notice else None,
                deadline,
                evidence_at,
                evidence,
                status,
            )
        )
    return sorted(out, key=lambda o: (o.event_at, o.subject, o.subject_id))
