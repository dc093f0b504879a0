"""How a stream reports what it delivered: the hook between streams and limits/metering.

A stream asks `admit` before writing each batch: the posts count against the organisation's
monthly cap (with the daily dedupe) through the limits service, once per batch, not per post. It
calls `flush` every usage interval and at the end, which records one usage event for the posts
delivered in that interval (ids included, for the distinct-post sketches). When a hard cap is
used up, `exhausted` turns True and the stream ends with X's usage-capped error; the overshoot
is at most the batch that crossed the cap.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Protocol

from tollhouse.access.context import RequestContext
from tollhouse.limits.service import LimitsService
from tollhouse.metering.event import UsageEvent
from tollhouse.metering.ids import uuid7
from tollhouse.metering.writer import UsageWriter


class StreamMeter(Protocol):
    exhausted: bool

    async def admit(self, post_ids: Sequence[int]) -> bool:
        """Count `post_ids` as delivered; False when the cap was already used up before them
        (do not write them; end the stream with the usage-capped error)."""

    def wrote(self, nbytes: int) -> None:
        """Note bytes written to the client."""

    async def flush(self, final: bool = False) -> None:
        """Record the posts delivered since the last flush as one usage event."""


class UnmeteredStream:
    """The meter when neither limits nor metering apply: admits everything, records nothing."""

    exhausted = False

    def __init__(self) -> None:
        self.delivered = 0

    async def admit(self, post_ids: Sequence[int]) -> bool:
        self.delivered += len(post_ids)
        return True

    def wrote(self, nbytes: int) -> None:
        return None

    async def flush(self, final: bool = False) -> None:
        return None


class MeteredStream:
    """Counts against the cap through `limits` and records interval usage events to `writer`."""

    def __init__(
        self,
        context: RequestContext,
        endpoint: str,
        limits: LimitsService | None,
        writer: UsageWriter | None,
        client_ip: str | None = None,
        user_agent: str | None = None,
        end_user: str | None = None,
        rules: Callable[[], tuple[str, ...]] | None = None,
    ) -> None:
        self.context = context
        # The rule values in force, read at each flush (rules change while a stream runs).
        self.rules = rules
        self.endpoint = endpoint
        self.limits = limits
        self.writer = writer
        self.client_ip = client_ip
        self.user_agent = user_agent
        self.end_user = end_user
        self.exhausted = False
        self._start_ns = time.time_ns()
        self._post_ids: list[int] = []
        self._new_posts = 0
        self._bytes = 0

    async def admit(self, post_ids: Sequence[int]) -> bool:
        new = len(post_ids)
        cap = self.context.plan.monthly_post_cap
        hard = cap is not None and self.context.plan.overage_per_1k is None
        if self.limits is not None:
            counted = await self.limits.count_delivered(self.context, post_ids)
            if counted is not None:
                new = counted.new_posts
                if hard and cap is not None:
                    if counted.used - counted.new_posts >= cap:
                        self.exhausted = True
                        return False
                    self.exhausted = counted.used >= cap
        self._post_ids.extend(post_ids)
        self._new_posts += new
        return True

    def wrote(self, nbytes: int) -> None:
        self._bytes += nbytes

    async def flush(self, final: bool = False) -> None:
        if self.writer is None or not (self._post_ids or self._bytes):
            return
        now_ns = time.time_ns()
        self.writer.record(
            UsageEvent(
                request_id=uuid7(self._start_ns // 1_000_000),
                occurred_us=self._start_ns // 1000,
                org_id=self.context.org_id,
                app_id=self.context.app_id,
                key_id=self.context.key_id,
                endpoint=self.endpoint,
                method="GET",
                status=200,
                posts=len(self._post_ids),
                new_posts=self._new_posts,
                bytes=self._bytes,
                duration_us=(now_ns - self._start_ns) // 1000,
                client_ip=self.client_ip,
                user_agent=self.user_agent,
                end_user=self.end_user,
                post_ids=tuple(self._post_ids),
                stream_rules=self.rules() if self.rules is not None else (),
            )
        )
        self._start_ns = now_ns
        self._post_ids = []
        self._new_posts = 0
        self._bytes = 0
