"""The in-process limits backend (`memory://`): one gateway process, no server.

It does not use `limits`' MemoryStorage + FixedWindowRateLimiter: their windows start at the
first hit instead of at epoch multiples (X's `x-rate-limit-reset` is the same for every request
in a window), `hit` on several windows consumes the earlier ones even when a later one refuses,
and every call takes a lock and a timer check we do not need on one event loop. Plain dicts keyed
by (app, endpoint, window) holding [window index, count] do the same job at a third of the cost
(bench/limits.py) and are bounded by the number of app x endpoint x window combinations.

Everything here runs on the event loop thread without awaiting, so each method is atomic.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from tollhouse.limits.decisions import (
    Admission,
    CapState,
    Decision,
    Delivery,
    DeliveryCount,
    Refusal,
    Reservation,
    UsageSnapshot,
    WindowRule,
    WindowState,
)
from tollhouse.limits.dedupe import DedupeShape
from tollhouse.limits.periods import day_date, period_candidates, utc_day

# Daily per-app counts are kept as long as `GET /2/usage/tweets?days=` can ask for (90 days).
KEEP_DAYS = 90
# Post ids remembered per organisation as already in today's dedupe filter (~60 bytes each).
KNOWN_PER_ORG = 1 << 16


class MemoryLimits:
    """Windows, caps and dedupe in dicts; `clock` (epoch seconds) can be injected for tests."""

    def __init__(
        self, dedupe: DedupeShape | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.dedupe = dedupe or DedupeShape()
        self.clock = clock
        self._windows: dict[tuple[int, str, int], list[int]] = {}
        self._used: dict[int, list[int]] = {}  # org → [period start, posts counted]
        self._reserved: dict[int, list[int]] = {}  # org → [period start, posts reserved]
        # org → (UTC day, Bloom bitmap, ids known to be in it)
        self._seen: dict[int, tuple[int, bytearray, set[int]]] = {}
        self._daily: dict[int, dict[int, dict[int, int]]] = {}  # org → day → app → posts
        self._periods: dict[int, tuple[int, int]] = {}  # billing day → current [start, end)

    def _period(self, billing_day: int, now: int) -> tuple[int, int]:
        cached = self._periods.get(billing_day)
        if cached is not None and cached[0] <= now < cached[1]:
            return cached
        current = period_candidates(now, billing_day)[1]
        bounds = (current.start_epoch, current.end_epoch)
        self._periods[billing_day] = bounds
        return bounds

    def decide(self, a: Admission) -> Decision:
        """The synchronous core of `admit` (also what the benchmark times)."""
        now = int(self.clock())
        refusal: Refusal | None = None
        slots: list[tuple[WindowRule, list[int]]] = []
        windows = self._windows
        for rule in a.windows:
            secs = rule.window_seconds
            index = now // secs
            key = (a.app_id, a.endpoint, secs)
            slot = windows.get(key)
            if slot is None or slot[0] != index:
                slot = windows[key] = [index, 0]
            if slot[1] >= rule.requests:
                refusal = "window"
            slots.append((rule, slot))
        period = self._periods.get(a.billing_day)
        if period is None or not period[0] <= now < period[1]:
            period = self._period(a.billing_day, now)
        start = period[0]
        counted = self._used.get(a.org_id)
        used = counted[1] if counted is not None and counted[0] == start else 0
        reservation = None
        if a.enforces_cap:
            cap: int = a.cap  # type: ignore[assignment]  # enforces_cap means not None
            held = self._reserved.get(a.org_id)
            reserved = held[1] if held is not None and held[0] == start else 0
            if used >= cap:
                refusal = "cap"  # beats a window refusal: waiting for the window would not help
            elif refusal is None and used + reserved >= cap:
                refusal = "cap_pending"
            if refusal is None and a.reserve > 0:
                self._reserved[a.org_id] = [start, reserved + a.reserve]
                reservation = Reservation(a.reserve, start)
        if refusal is None:
            for _, slot in slots:
                slot[1] += 1
        states = tuple(
            [
                WindowState(
                    rule.window_seconds,
                    rule.requests,
                    rule.requests - slot[1] if slot[1] < rule.requests else 0,
                    (slot[0] + 1) * rule.window_seconds,
                )
                for rule, slot in slots
            ]
        )
        return Decision(
            refusal is None,
            refusal,
            now,
            states,
            CapState(a.cap, used, start, period[1]),
            reservation,
        )

    async def admit(self, admission: Admission) -> Decision:
        return self.decide(admission)

    def _bitmap(self, org_id: int, day: int) -> tuple[bytearray, set[int]]:
        held = self._seen.get(org_id)
        if held is None or held[0] != day:
            held = (day, bytearray(self.dedupe.memory_bytes), set())
            self._seen[org_id] = held
        return held[1], held[2]

    async def count(self, delivery: Delivery) -> DeliveryCount:
        now = int(self.clock())
        day = utc_day(now)
        bitmap, known = self._bitmap(delivery.org_id, day)
        # Posts already run through today's filter have all their bits set, so the filter would
        # call them seen: skip hashing them (the answer is the same, at a set lookup's cost).
        # The set is bounded; emptying it only brings back the hashing.
        fresh_ids = [post_id for post_id in delivery.post_ids if post_id not in known]
        if len(known) + len(fresh_ids) > KNOWN_PER_ORG:
            known.clear()
        known.update(fresh_ids)
        new = 0
        positions = self.dedupe.all_positions(fresh_ids)
        per_post = self.dedupe.hashes
        for first in range(0, len(positions), per_post):
            fresh = False
            for position in positions[first : first + per_post]:
                byte = position >> 3
                mask = 1 << (position & 7)
                bits = bitmap[byte]
                if not bits & mask:
                    bitmap[byte] = bits | mask
                    fresh = True
            new += fresh
        start, end = self._period(delivery.billing_day, now)
        if delivery.reservation is not None:
            held = self._reserved.get(delivery.org_id)
            if held is not None and held[0] == delivery.reservation.period_start:
                held[1] = max(0, held[1] - delivery.reservation.posts)
        counted = self._used.get(delivery.org_id)
        if counted is None or counted[0] != start:
            counted = self._used[delivery.org_id] = [start, 0]
        counted[1] += new
        if new:
            days = self._daily.setdefault(delivery.org_id, {})
            if day not in days:
                for old in [d for d in days if d <= day - KEEP_DAYS]:
                    del days[old]
            per_app = days.setdefault(day, {})
            per_app[delivery.app_id] = per_app.get(delivery.app_id, 0) + new
        return DeliveryCount(new, counted[1], end)

    async def usage(self, org_id: int, billing_day: int, days: int) -> UsageSnapshot:
        now = int(self.clock())
        start, end = self._period(billing_day, now)
        counted = self._used.get(org_id)
        used = counted[1] if counted is not None and counted[0] == start else 0
        today = utc_day(now)
        held = self._daily.get(org_id, {})
        daily = {
            day_date(d): dict(held[d]) for d in range(today - days + 1, today + 1) if d in held
        }
        return UsageSnapshot(used, start, end, daily)

    async def close(self) -> None:
        return None
