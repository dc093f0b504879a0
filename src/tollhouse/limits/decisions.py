"""Value objects of the limits domain: what is asked, what is decided, what is counted.

The per-request results (WindowState, CapState, Reservation, Decision) are NamedTuples, not frozen
dataclasses: they are built on every request, and a frozen dataclass costs ~0.6 µs to build
against ~0.3 µs for a NamedTuple; with four per request that was half the memory backend's
decision cost (bench/limits.py). They are just as immutable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal, NamedTuple, Protocol

# Why a request was refused: a rate window is full; the monthly cap is used up; or the cap is
# not used up yet but requests already in flight may use it up (they reserved it).
Refusal = Literal["window", "cap", "cap_pending"]


class WindowRule(Protocol):
    """`requests` per `window_seconds` (access.plans.RateLimit has this shape)."""

    @property
    def requests(self) -> int: ...

    @property
    def window_seconds(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Admission:
    """One request asking to be admitted: which app/endpoint windows and which org cap apply."""

    org_id: int
    app_id: int
    endpoint: str
    windows: tuple[WindowRule, ...]
    cap: int | None  # None: no monthly cap
    overage: bool  # True: the plan bills overage, the cap never refuses
    billing_day: int
    reserve: int  # posts to reserve against the cap while the request runs (0: none)
    metered: bool = True  # False (e.g. /2/usage/tweets): delivers no posts, the cap never refuses

    @property
    def enforces_cap(self) -> bool:
        return self.metered and self.cap is not None and not self.overage


class WindowState(NamedTuple):
    """One window after the decision: its size, how many requests it allows and has left."""

    window_seconds: int
    limit: int
    remaining: int
    reset: int  # epoch seconds at which the window ends (the same for every request in it)


class CapState(NamedTuple):
    """The organisation's monthly cap at the time of the decision."""

    cap: int | None
    used: int
    period_start: int  # epoch seconds, inclusive
    period_end: int  # epoch seconds, exclusive: when the cap resets

    @property
    def exhausted(self) -> bool:
        return self.cap is not None and self.used >= self.cap


class Reservation(NamedTuple):
    """Posts reserved against the cap at admission; released when the delivery is counted."""

    posts: int
    period_start: int


class Decision(NamedTuple):
    """The answer for one request: admitted or not, and the state every header is built from."""

    admitted: bool
    refusal: Refusal | None
    now: int  # epoch seconds by the backend's clock (Redis TIME for Redis)
    windows: tuple[WindowState, ...]
    cap: CapState | None
    reservation: Reservation | None = None
    checked: bool = True  # False: the backend was unreachable and the policy is fail_open


@dataclass(frozen=True, slots=True)
class Delivery:
    """Posts a handler returned to one app of one organisation."""

    org_id: int
    app_id: int
    post_ids: tuple[int, ...]
    billing_day: int
    reservation: Reservation | None = None


@dataclass(frozen=True, slots=True)
class DeliveryCount:
    """What counting a delivery did: posts new today (counted against the cap), the cap use."""

    new_posts: int
    used: int
    period_end: int


@dataclass(frozen=True, slots=True)
class UsageSnapshot:
    """An organisation's cap use this billing month and its posts per UTC day per app."""

    used: int
    period_start: int
    period_end: int
    daily: Mapping[date, Mapping[int, int]] = field(default_factory=dict)
