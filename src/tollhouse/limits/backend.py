"""The Protocol both limits backends implement, and the factory that picks one from a URL."""

from __future__ import annotations

from typing import Protocol

from tollhouse.limits.decisions import Admission, Decision, Delivery, DeliveryCount, UsageSnapshot
from tollhouse.limits.dedupe import DedupeShape


class LimitsBackend(Protocol):
    """Where windows, caps, reservations, the daily dedupe filter and daily counts live.

    Every method is one atomic step: with Redis, one round trip.
    """

    async def admit(self, admission: Admission) -> Decision:
        """Check every window and the cap; if all admit, count the request and reserve posts."""
        ...

    async def count(self, delivery: Delivery) -> DeliveryCount:
        """Count posts not yet delivered to the org today against its cap; release the reserve."""
        ...

    async def usage(self, org_id: int, billing_day: int, days: int) -> UsageSnapshot:
        """The org's cap use this billing month and per-app daily counts for the last `days`."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


def backend_from_url(
    url: str,
    *,
    dedupe: DedupeShape | None = None,
    timeout_seconds: float = 1.0,
    key_prefix: str = "tollhouse:limits:",
) -> LimitsBackend:
    """`memory://` → MemoryLimits (one process); `redis://…` / `rediss://…` → RedisLimits."""
    shape = dedupe or DedupeShape()
    if url.startswith("memory://"):
        from tollhouse.limits.memory import MemoryLimits

        return MemoryLimits(dedupe=shape)
    if url.startswith(("redis://", "rediss://")):
        from tollhouse.limits.redis.backend import RedisLimits

        return RedisLimits(url, dedupe=shape, timeout_seconds=timeout_seconds, prefix=key_prefix)
    raise ValueError(f"unknown limits backend URL {url!r}: use memory:// or redis://host:port/db")
