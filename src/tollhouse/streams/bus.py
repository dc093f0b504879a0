"""The bus that carries live events to every gateway process, and the connection slots that keep
one stream connection per app across processes.

Backends, chosen by `settings.bus_url`: `memory://` (one process; publishing hands the event to the
local hub directly) and `redis://host:port/db` (Redis pub/sub: every process subscribes once, so
every process sees every event once and delivers it to its own connections). A `?prefix=` query
parameter on the URL namespaces the channel and keys (tests use one prefix each).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tollhouse.streams.events import Event

EventHandler = Callable[[Event], Awaitable[None]]


class Bus(Protocol):
    """Publish events to every subscribed process; deliver received events to one handler."""

    async def start(self, handler: EventHandler) -> None:
        """Subscribe; from now on every event published anywhere is passed to `handler`, in
        publishing order, one at a time."""

    async def publish(self, events: Sequence[Event]) -> None:
        """Send `events`, in order, to every subscribed process (including this one)."""

    async def close(self) -> None:
        """Unsubscribe and release connections."""


class ConnectionSlots(Protocol):
    """At most one holder per key (one stream connection per app), across processes.

    A slot is held with a token and expires after `ttl` seconds unless refreshed, so that a
    crashed process does not lock an app out for ever.
    """

    async def claim(self, key: str, token: str, ttl: float) -> bool:
        """Take the slot if free; False if someone else holds it."""

    async def refresh(self, key: str, token: str, ttl: float) -> bool:
        """Extend a slot we hold; False if we no longer hold it."""

    async def release(self, key: str, token: str) -> None:
        """Free the slot if we hold it."""


def split_prefix(url: str) -> tuple[str, str]:
    """`(url without ?prefix=…, prefix)`; the default prefix is `tollhouse:`."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefix = "tollhouse:"
    kept = []
    for name, value in query:
        if name == "prefix":
            prefix = value
        else:
            kept.append((name, value))
    return urlunsplit(parts._replace(query=urlencode(kept))), prefix


def bus_from_url(url: str) -> tuple[Bus, ConnectionSlots]:
    """The bus and connection slots for `url` (`memory://` or `redis://…`)."""
    if url.startswith("memory://"):
        from tollhouse.streams.memory import MemoryBus, MemorySlots

        return MemoryBus(), MemorySlots()
    if url.startswith(("redis://", "rediss://")):
        from tollhouse.streams.redis import RedisBus, RedisSlots

        bare, prefix = split_prefix(url)
        return RedisBus(bare, prefix), RedisSlots(bare, prefix)
    raise ValueError(f"unknown bus URL {url!r}: use memory:// or redis://host:port/db")
