"""The meter of one stream connection: counts against limits, records usage to metering.

Each batch counts against the organisation's monthly cap (with the daily dedupe) through the
limits service, which also says when a hard cap stops the stream. Every `flush` (each usage
interval and at the end) records one usage event for the posts delivered in that interval, ids
included for the distinct-post sketches.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from tollhouse.access.context import RequestContext
from tollhouse.limits.service import LimitsService
from tollhouse.metering.event import UsageEvent
from tollhouse.metering.ids import uuid7
from tollhouse.metering.recorder import UsageRecorder


class MeteredStream:
    """A `tollhouse.streams.metering.StreamMeter` over `limits` and `writer` (either optional)."""

    def __init__(
        self,
        context: RequestContext,
        endpoint: str,
        limits: LimitsService | None,
        writer: UsageRecorder | None,
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
        if self.limits is not None:
            counted = await self.limits.count_streamed(self.context, post_ids)
            if counted is not None:
                new = counted.new_posts
                self.exhausted = counted.exhausted
                if counted.refused:
                    return False
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
