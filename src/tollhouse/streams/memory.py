"""The one-process bus: publishing awaits the local handler, so a post is in every connection's
buffer when `publish` returns."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from tollhouse.streams.bus import EventHandler
from tollhouse.streams.events import Event

log = logging.getLogger("tollhouse.streams")


class MemoryBus:
    """Events go straight to the handlers of this process, in order."""

    def __init__(self) -> None:
        self._handlers: list[EventHandler] = []
        # One publisher at a time keeps publishing order equal to delivery order.
        self._lock = asyncio.Lock()

    async def start(self, handler: EventHandler) -> None:
        self._handlers.append(handler)

    async def publish(self, events: Sequence[Event]) -> None:
        async with self._lock:
            for event in events:
                for handler in self._handlers:
                    try:
                        await handler(event)
                    except Exception:  # as on Redis: one bad event must not stop the rest
                        log.exception("stream bus: handler failed")

    async def close(self) -> None:
        self._handlers.clear()


class MemorySlots:
    """Connection slots held in a dict (token, expiry)."""

    def __init__(self) -> None:
        self._held: dict[str, tuple[str, float]] = {}

    async def claim(self, key: str, token: str, ttl: float) -> bool:
        now = time.monotonic()
        held = self._held.get(key)
        if held is not None and held[1] > now and held[0] != token:
            return False
        self._held[key] = (token, now + ttl)
        return True

    async def refresh(self, key: str, token: str, ttl: float) -> bool:
        held = self._held.get(key)
        if held is None or held[0] != token:
            return False
        self._held[key] = (token, time.monotonic() + ttl)
        return True

    async def release(self, key: str, token: str) -> None:
        held = self._held.get(key)
        if held is not None and held[0] == token:
            del self._held[key]
