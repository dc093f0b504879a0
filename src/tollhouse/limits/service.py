"""The limits operations the edge and the usage route call, with the failure policy applied."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol

from tollhouse.limits.backend import LimitsBackend, backend_from_url
from tollhouse.limits.decisions import (
    Admission,
    Decision,
    Delivery,
    DeliveryCount,
    Reservation,
    UsageSnapshot,
    WindowRule,
)
from tollhouse.limits.dedupe import DedupeShape
from tollhouse.limits.errors import LimitsUnavailable
from tollhouse.limits.memory import MemoryLimits
from tollhouse.settings import Settings

log = logging.getLogger("tollhouse.limits")

FailurePolicy = Literal["fail_closed", "fail_open"]
# Posts reserved against a hard cap while a request runs: one page (max_results is ≤ 100 on the
# endpoints that count against the cap). It is what bounds the overshoot of a cap under
# concurrency to one page: a request is admitted only while counted + reserved < cap.
DEFAULT_RESERVE = 100
LOG_EVERY = 10.0  # seconds between two log lines about the same kind of backend trouble


class PlanLimits(Protocol):
    """The parts of access.plans.Plan that limits reads."""

    @property
    def monthly_post_cap(self) -> int | None: ...

    @property
    def overage_per_1k(self) -> Decimal | None: ...

    @property
    def rate_limits(self) -> Mapping[str, tuple[WindowRule, ...]]: ...


class Caller(Protocol):
    """The parts of access.context.RequestContext that limits reads."""

    @property
    def org_id(self) -> int: ...

    @property
    def app_id(self) -> int: ...

    @property
    def billing_day(self) -> int: ...

    @property
    def plan(self) -> PlanLimits: ...


@dataclass
class LimitsMetrics:
    """Counters of backend trouble (exposed in AppState for the admin/metrics surface)."""

    backend_failures: int = 0  # every failed call to the backend
    failed_open: int = 0  # requests admitted unchecked because of a failure
    failed_closed: int = 0  # requests refused (503) because of a failure
    uncounted_deliveries: int = 0  # deliveries whose posts could not be counted


@dataclass(frozen=True, slots=True)
class StreamedCount:
    """What counting one stream batch did: posts new today, and the hard cap's verdict.

    `refused`: the cap was used up before the batch (do not write it); `exhausted`: the cap is
    used up now (end the stream after the batch). A plan with overage has no hard cap: both False.
    """

    new_posts: int
    refused: bool
    exhausted: bool


class LimitsService:
    """Admit requests, count delivered posts and report usage, following the failure policy."""

    def __init__(
        self,
        backend: LimitsBackend,
        *,
        failure_policy: FailurePolicy = "fail_closed",
        reserve: int = DEFAULT_RESERVE,
    ) -> None:
        self.backend = backend
        self.failure_policy = failure_policy
        self.reserve = reserve
        self.metrics = LimitsMetrics()
        self._last_log = -LOG_EVERY

    def admission(
        self, caller: Caller, endpoint: str, metered: bool = True, reserve: bool = True
    ) -> Admission:
        """What to ask the backend for `caller` on `endpoint` (plan read now: changes apply).

        `reserve` is False for streams: they count each batch against the cap as they deliver
        it, so a reservation held for a connection's whole life would only starve other requests.
        """
        plan = caller.plan
        return Admission(
            org_id=caller.org_id,
            app_id=caller.app_id,
            endpoint=endpoint,
            windows=tuple(plan.rate_limits.get(endpoint, ())),
            cap=plan.monthly_post_cap,
            overage=plan.overage_per_1k is not None,
            billing_day=caller.billing_day,
            reserve=self.reserve if metered and reserve else 0,
            metered=metered,
        )

    async def admit(
        self, caller: Caller, endpoint: str, metered: bool = True, reserve: bool = True
    ) -> Decision:
        """Decide one request; LimitsUnavailable if the backend fails and the policy is closed."""
        admission = self.admission(caller, endpoint, metered, reserve)
        try:
            return await self.backend.admit(admission)
        except LimitsUnavailable as exc:
            self.metrics.backend_failures += 1
            if self.failure_policy == "fail_open":
                self.metrics.failed_open += 1
                self._log_failure("admitting unchecked (fail_open)", exc)
                return Decision(True, None, 0, (), None, checked=False)
            self.metrics.failed_closed += 1
            self._log_failure("refusing with 503 (fail_closed)", exc)
            raise

    async def count_delivered(
        self, caller: Caller, post_ids: Iterable[int], reservation: Reservation | None = None
    ) -> DeliveryCount | None:
        """Count delivered posts against the cap (and release the reservation); never raises."""
        delivery = Delivery(
            caller.org_id, caller.app_id, tuple(post_ids), caller.billing_day, reservation
        )
        if not delivery.post_ids and reservation is None:
            return None
        try:
            return await self.backend.count(delivery)
        except LimitsUnavailable as exc:
            self.metrics.backend_failures += 1
            self.metrics.uncounted_deliveries += 1
            self._log_failure(f"{len(delivery.post_ids)} delivered posts not counted", exc)
            return None

    async def count_streamed(self, caller: Caller, post_ids: Iterable[int]) -> StreamedCount | None:
        """Count a stream's batch against the cap (None when it was not counted). A stream is
        let through a hard cap by whole batches: the overshoot is at most the batch that
        crossed it."""
        counted = await self.count_delivered(caller, post_ids)
        if counted is None:
            return None
        plan = caller.plan
        cap = plan.monthly_post_cap
        if cap is None or plan.overage_per_1k is not None:
            return StreamedCount(counted.new_posts, refused=False, exhausted=False)
        refused = counted.used - counted.new_posts >= cap
        return StreamedCount(counted.new_posts, refused=refused, exhausted=counted.used >= cap)

    async def usage(self, caller: Caller, days: int) -> UsageSnapshot:
        """The organisation's usage; raises LimitsUnavailable (there is nothing to show)."""
        try:
            return await self.backend.usage(caller.org_id, caller.billing_day, days)
        except LimitsUnavailable:
            self.metrics.backend_failures += 1
            raise

    async def close(self) -> None:
        await self.backend.close()

    def _log_failure(self, consequence: str, exc: Exception) -> None:
        # An outage fails every request; one line per LOG_EVERY seconds says so with the totals.
        now = time.monotonic()
        if now - self._last_log < LOG_EVERY:
            return
        self._last_log = now
        log.error(
            "limits backend unavailable, %s: %s (failures so far: %s)",
            consequence,
            exc,
            self.metrics,
        )


def limits_from_settings(settings: Settings) -> LimitsService:
    """The LimitsService a process runs with: backend from `limits_url`, policy, sizes."""
    backend = backend_from_url(
        settings.limits_url,
        dedupe=DedupeShape(bits=settings.limits_dedupe_bits),
        timeout_seconds=settings.limits_timeout_ms / 1000,
        key_prefix=settings.limits_key_prefix,
    )
    return LimitsService(
        backend,
        failure_policy=settings.limits_failure_policy,
        reserve=settings.limits_cap_reservation,
    )


def memory_limits() -> LimitsService:
    """An in-process LimitsService with defaults (AppState's default)."""
    return LimitsService(MemoryLimits())
