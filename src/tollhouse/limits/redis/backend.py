"""The Redis limits backend (`redis://…`): exact across any number of gateway processes/hosts.

One round trip per decision (scripts.ADMIT via EVALSHA), one per delivery count (scripts.COUNT).
Every key expires: windows at their reset, reservations `RESERVE_TTL` seconds after the last
one, the dedupe filter an hour after its UTC day, the cap a day after its billing month, daily
per-app counts after 90 days. Socket and connect timeouts are short and redis-py's retries are
off, so an unreachable or hung Redis costs a call at most `timeout_seconds` and, once it refused
a connection or let a call time out, nothing for `BACKOFF_SECONDS`: requests fail fast into the
failure policy.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Callable, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from tollhouse.limits.decisions import (
    Admission,
    CapState,
    Decision,
    Delivery,
    DeliveryCount,
    Refusal,
    Reservation,
    UsageSnapshot,
    WindowState,
)
from tollhouse.limits.dedupe import DedupeShape
from tollhouse.limits.errors import LimitsUnavailable
from tollhouse.limits.periods import Period, day_date, period_candidates
from tollhouse.limits.redis import scripts
from tollhouse.limits.redis.resp_client import RedisPipe

# A reservation outlives its request only if the process died mid-request; then it frees itself.
RESERVE_TTL = 120
# After Redis refused a connection or let a call time out, skip it this long so that a dead or
# hung Redis costs requests nothing (a hung one would otherwise cost every request the timeout).
BACKOFF_SECONDS = 0.5
MAX_CONNECTIONS = 64
_REFUSALS: tuple[Refusal | None, ...] = (None, "window", "cap", "cap_pending")


class RedisLimits:
    """Windows, caps, reservations and the dedupe filter in Redis, decided by Lua scripts."""

    def __init__(
        self,
        url: str,
        *,
        dedupe: DedupeShape | None = None,
        timeout_seconds: float = 1.0,
        prefix: str = "tollhouse:limits:",
        connection_class: type[aioredis.Connection] | None = None,
        host_clock: Callable[[], float] = time.time,
    ) -> None:
        self.dedupe = dedupe or DedupeShape()
        self.prefix = prefix
        self.timeout = timeout_seconds
        # Only used to pick candidate billing months; every decision uses Redis's TIME.
        self.host_clock = host_clock
        extra: dict[str, Any] = {}
        if connection_class is not None:
            extra["connection_class"] = connection_class
        # A bounded pool: a burst of concurrent requests shares MAX_CONNECTIONS connections
        # (queueing at most 2 x `timeout_seconds` for one) instead of opening one each.
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=MAX_CONNECTIONS,
            timeout=timeout_seconds * 2,
            socket_timeout=timeout_seconds,
            socket_connect_timeout=timeout_seconds,
            retry=Retry(NoBackoff(), 0),
            retry_on_timeout=False,
            health_check_interval=0,
            **extra,
        )
        self.redis: aioredis.Redis = aioredis.Redis(connection_pool=pool)
        # The two calls of every request go through one pipelined connection (resp_client.py).
        # A connection with a command unanswered past the whole call's bound is replaced.
        self.pipe = (
            RedisPipe(url, timeout_seconds, stale_after=timeout_seconds)
            if RedisPipe.supports(url)
            else None
        )
        self._admit = self.redis.register_script(scripts.ADMIT)
        self._count = self.redis.register_script(scripts.COUNT)
        self._usage = self.redis.register_script(scripts.USAGE)
        self._periods: dict[int, tuple[float, list[int]]] = {}
        self._down_until = 0.0

    def _months(self, billing_day: int) -> list[int]:
        """Months before/holding/after this host's now, as 6 epoch numbers (cached a minute)."""
        now = self.host_clock()
        cached = self._periods.get(billing_day)
        if cached is not None and cached[0] > now:
            return cached[1]
        months: Sequence[Period] = period_candidates(now, billing_day)
        flat = [n for p in months for n in (p.start_epoch, p.end_epoch)]
        self._periods[billing_day] = (now + 60, flat)
        return flat

    async def _run(self, script: Any, args: list[Any]) -> Any:
        if time.monotonic() < self._down_until:
            raise LimitsUnavailable("Redis failed recently; not retrying yet")
        try:
            # One timeout bounds the whole call (connect, NOSCRIPT reload, the reply) so that
            # nothing can hang a request (a scope, not wait_for: no task per call). A reply that
            # times out after Redis ran the script leaves the request counted though not served:
            # errors here only ever err towards the limit, never past it.
            async with asyncio.timeout(self.timeout):
                if self.pipe is not None:
                    return await self.pipe.evalsha(script.sha, script.script, args)
                return await script(keys=[], args=args)
        except (RedisError, OSError, TimeoutError) as exc:
            if _could_not_connect(exc) or isinstance(exc, TimeoutError | RedisTimeoutError):
                self._down_until = time.monotonic() + BACKOFF_SECONDS
            raise LimitsUnavailable(f"Redis unavailable: {exc!r}") from exc

    async def admit(self, admission: Admission) -> Decision:
        a = admission
        args: list[Any] = [self.prefix, len(a.windows)]
        for rule in a.windows:
            args += (rule.requests, rule.window_seconds, f"{a.app_id}:{a.endpoint}")
        args += (
            a.org_id,
            -1 if a.cap is None else a.cap,
            1 if a.enforces_cap else 0,
            a.reserve,
            RESERVE_TTL,
        )
        args += self._months(a.billing_day)
        out = await self._run(self._admit, args)
        now, refusal_code, used, start, end, granted = (int(x) for x in out[:6])
        states = tuple(
            WindowState(
                rule.window_seconds,
                rule.requests,
                max(0, rule.requests - int(out[6 + 2 * n])),
                int(out[7 + 2 * n]),
            )
            for n, rule in enumerate(a.windows)
        )
        refusal = _REFUSALS[refusal_code]
        return Decision(
            admitted=refusal is None,
            refusal=refusal,
            now=now,
            windows=states,
            cap=CapState(a.cap, used, start, end),
            reservation=Reservation(granted, start) if granted else None,
        )

    async def count(self, delivery: Delivery) -> DeliveryCount:
        held = delivery.reservation
        args: list[Any] = [
            self.prefix,
            delivery.org_id,
            delivery.app_id,
            self.dedupe.hashes,
            held.posts if held else 0,
            held.period_start if held else 0,
        ]
        args += self._months(delivery.billing_day)
        positions = self.dedupe.all_positions(delivery.post_ids)
        args.append(struct.pack(f"<{len(positions)}I", *positions))
        new, used, end = (int(x) for x in await self._run(self._count, args))
        return DeliveryCount(new, used, end)

    async def usage(self, org_id: int, billing_day: int, days: int) -> UsageSnapshot:
        args: list[Any] = [self.prefix, org_id, days, *self._months(billing_day)]
        out = await self._run(self._usage, args)
        daily: dict[Any, dict[int, int]] = {}
        for day, flat in out[4:]:
            if flat:
                pairs = zip(flat[::2], flat[1::2], strict=True)
                daily[day_date(int(day))] = {int(app): int(n) for app, n in pairs}
        return UsageSnapshot(int(out[1]), int(out[2]), int(out[3]), daily)

    async def close(self) -> None:
        if self.pipe is not None:
            self.pipe.close()
        await self.redis.aclose()


def _could_not_connect(exc: BaseException) -> bool:
    """True if Redis refused or dropped the connection attempt (not a timeout, not a full pool)."""
    if isinstance(exc, ConnectionRefusedError):
        return True
    # redis-py raises ConnectionError while handling the OSError of a failed connect; a full
    # BlockingConnectionPool raises a bare ConnectionError("No connection available.").
    return isinstance(exc, RedisConnectionError) and isinstance(exc.__context__, OSError)
