"""How a stream reports what it delivered: the hook between streams and limits/metering.

A stream asks `admit` before writing each batch (posts count against the monthly cap, with the
daily dedupe, and go into the distinct-post sketches) and calls `flush` every usage interval and
at the end, so that usage events are written per connection per interval, not per post.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class StreamMeter(Protocol):
    async def admit(self, post_ids: Sequence[int]) -> bool:
        """Count `post_ids` as delivered; False when the monthly cap is exhausted (end the
        stream with the usage-capped error instead of writing them)."""

    async def flush(self, final: bool = False) -> None:
        """Record the posts delivered since the last flush as one usage event."""


class UnmeteredStream:
    """The meter when limits/metering are not configured: admits everything, records nothing."""

    def __init__(self) -> None:
        self.delivered = 0

    async def admit(self, post_ids: Sequence[int]) -> bool:
        self.delivered += len(post_ids)
        return True

    async def flush(self, final: bool = False) -> None:
        return None
