"""How a stream reports what it delivered: the `StreamMeter` it is given, and the meter that
admits everything.

A stream asks `admit` before writing each batch, once per batch, not per post. It calls `flush`
every usage interval and at the end. When `exhausted` turns True the stream ends with X's
usage-capped error. The meter that counts against limits and records to metering is built at the
edge (tollhouse.api.stream_meter), which is where access, limits and metering meet.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


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
