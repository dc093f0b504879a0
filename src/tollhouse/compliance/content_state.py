"""The state of a post or user at a moment, folded from its content events: what a batch
compliance job reports for an id (one event per id: delete over rehydrate over scrub_geo).

Toggles (protect/unprotect, suspend/unsuspend, delete/undelete) may repeat without end; only
the state at the moment of processing counts. A subject with no events at all takes the state
the corpus row shows (content loaded already removed)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tollhouse.compliance.content_events import ContentEvent
from tollhouse.corpus.models import ContentState

_RANK = {"delete": 3, "rehydrate": 2, "scrub_geo": 1}


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a compliance job says of one id."""

    action: str  # delete, rehydrate, scrub_geo
    reason: str  # deleted, protected, deactivated, suspended, tweet_edited, geo_scrubbed
    redacted_at: datetime | None

    def outranks(self, other: Verdict | None) -> bool:
        return other is None or _RANK[self.action] > _RANK[other.action]


@dataclass(slots=True)
class UserState:
    """Each toggle as (in force, since when); the time is None for a state the corpus was
    loaded with, whose moment is unknown."""

    deleted: tuple[bool, datetime | None] = (False, None)
    suspended: tuple[bool, datetime | None] = (False, None)
    protected: tuple[bool, datetime | None] = (False, None)
    geo_scrubs: tuple[tuple[int, datetime], ...] = ()  # (up_to_tweet_id, at)

    def verdict(self) -> Verdict | None:
        """delete/deactivated over suspended over protected (a deletion is the strongest)."""
        for (on, at), reason in (
            (self.deleted, "deactivated"),
            (self.suspended, "suspended"),
            (self.protected, "protected"),
        ):
            if on:
                return Verdict("delete", reason, at)
        return None


def user_state(events: Sequence[ContentEvent], row: Any | None = None) -> UserState:
    """Fold `events` (oldest first); with none, the corpus `row` (state, protected,
    state_changed_at) stands in."""
    state = UserState()
    if not events and row is not None:
        at = row.state_changed_at
        if row.state == ContentState.DELETED.value:
            state.deleted = (True, at)
        elif row.state == ContentState.SUSPENDED.value:
            state.suspended = (True, at)
        if row.protected:
            state.protected = (True, None)
        return state
    for e in events:
        match e.event:
            case "user_delete":
                state.deleted = (True, e.occurred_at)
            case "user_undelete":
                state.deleted = (False, None)
            case "user_suspend":
                state.suspended = (True, e.occurred_at)
            case "user_unsuspend":
                state.suspended = (False, None)
            case "user_protect":
                state.protected = (True, e.occurred_at)
            case "user_unprotect":
                state.protected = (False, None)
            case "scrub_geo":
                up_to = int(e.details.get("up_to_tweet_id", 0))
                state.geo_scrubs = (*state.geo_scrubs, (up_to, e.occurred_at))
    return state


def post_verdict(
    post_id: int,
    events: Sequence[ContentEvent],
    row: Any | None,
    author: UserState | None,
) -> Verdict | None:
    """The one event a tweets job reports for `post_id`, or None when it is clean. `row`: its
    corpus row (state, state_changed_at) if any; `author`: its author's folded state."""
    best: Verdict | None = None

    def offer(v: Verdict) -> None:
        nonlocal best
        if v.outranks(best):
            best = v

    if not events and row is not None and row.state == ContentState.DELETED.value:
        offer(Verdict("delete", "deleted", row.state_changed_at))
    for e in events:
        if e.event == "delete":
            offer(Verdict("delete", "deleted", e.occurred_at))
        elif e.event == "tweet_edit":
            offer(Verdict("rehydrate", "tweet_edited", e.occurred_at))
        elif e.event == "scrub_geo":
            offer(Verdict("scrub_geo", "geo_scrubbed", e.occurred_at))
    if author is not None:
        user = author.verdict()
        if user is not None:
            offer(user)
        for up_to, at in author.geo_scrubs:
            if post_id <= up_to:
                offer(Verdict("scrub_geo", "geo_scrubbed", at))
    return best
