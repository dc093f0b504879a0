"""The multi-process bus on Redis pub/sub, and connection slots as Redis keys with a TTL.

Every gateway process subscribes to one channel; Redis delivers each published message once to
each subscriber, so each process sees each event once and delivers it to its own connections.
A subscriber that falls far behind is cut off by Redis' pub/sub output-buffer limit; the reader
then resubscribes (events in between are lost to that process, as on X a reconnect loses them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from tollhouse.backoff import Backoff
from tollhouse.streams.bus import EventHandler
from tollhouse.streams.errors import BusUnavailable
from tollhouse.streams.events import Event, decode, encode

log = logging.getLogger("tollhouse.streams")
# While Redis is down the reader resubscribes after 0.5, 1, 2 … s, at most 8 s apart: posts
# published meanwhile are not delivered anyway, and a Redis that is back costs at most 8 s of
# stream silence.
RESUBSCRIBE_BACKOFF = Backoff(initial=0.5, factor=2.0, cap=8.0)

# Compare-and-delete / compare-and-extend, so that a process never frees or extends a slot that
# expired and was taken by another process.
_RELEASE = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
)
_REFRESH = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
)


class RedisBus:
    """Publishes to `{prefix}stream-events`; one reader task per process feeds the handler."""

    def __init__(
        self,
        url: str,
        prefix: str,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._url = url
        self.channel = f"{prefix}stream-events"
        self._client: aioredis.Redis = aioredis.Redis.from_url(url)
        self._reader: asyncio.Task[None] | None = None
        self._sleep = sleep  # the reader's wait between resubscriptions (tests count them)

    async def start(self, handler: EventHandler) -> None:
        pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        # Subscribed before start() returns: nothing published after start-up is missed.
        await pubsub.subscribe(self.channel)
        self._reader = asyncio.create_task(self._read(pubsub, handler), name="stream-bus-reader")

    async def _read(self, pubsub: aioredis.client.PubSub, handler: EventHandler) -> None:
        while True:
            try:
                message = await pubsub.get_message(timeout=1.0)
            except (RedisConnectionError, OSError) as exc:
                await self._resubscribe(pubsub, exc)
                continue
            if message is None or message.get("type") != "message":
                continue
            try:
                event = decode(message["data"])
            except (ValueError, KeyError, TypeError):
                log.warning("stream bus: ignoring a message that is not an event")
                continue
            try:
                await handler(event)
            except Exception:  # one bad event must not stop delivery of the rest
                log.exception("stream bus: handler failed")

    async def _resubscribe(self, pubsub: aioredis.client.PubSub, lost: BaseException) -> None:
        """Subscribe again, waiting by `RESUBSCRIBE_BACKOFF` before each attempt, until it
        works: a pubsub whose subscribe failed is subscribed to nothing, and reading it would
        wait forever without another error."""
        failures = 0
        while True:
            failures += 1
            delay = RESUBSCRIBE_BACKOFF.delay(failures)
            log.warning("stream bus: lost Redis (%s); resubscribing in %g s", lost, delay)
            await self._sleep(delay)
            try:
                await pubsub.aclose()  # type: ignore[no-untyped-call]  # drops the connection only
                await pubsub.subscribe(self.channel)
                return
            except (RedisConnectionError, OSError) as exc:
                lost = exc

    async def publish(self, events: Sequence[Event]) -> None:
        if not events:
            return
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for event in events:
                    pipe.publish(self.channel, encode(event))
                await pipe.execute()
        except (RedisError, OSError) as exc:
            raise BusUnavailable(f"cannot publish on the stream bus: {exc}") from exc

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        await self._client.aclose()


class RedisSlots:
    """Slot `key` is the Redis key `{prefix}stream-slot:{key}` holding the holder's token."""

    def __init__(self, url: str, prefix: str) -> None:
        self._client: aioredis.Redis = aioredis.Redis.from_url(url)
        self._prefix = f"{prefix}stream-slot:"

    async def claim(self, key: str, token: str, ttl: float) -> bool:
        try:
            done = await self._client.set(self._prefix + key, token, nx=True, px=int(ttl * 1000))
        except (RedisError, OSError) as exc:
            raise BusUnavailable(f"cannot reach the connection slots: {exc}") from exc
        return bool(done)

    async def refresh(self, key: str, token: str, ttl: float) -> bool:
        try:
            done = await self._client.eval(_REFRESH, 1, self._prefix + key, token, int(ttl * 1000))
        except (RedisError, OSError):
            # Keep streaming through a Redis blip; the slot is re-checked next time.
            return True
        return bool(done)

    async def release(self, key: str, token: str) -> None:
        await self._client.eval(_RELEASE, 1, self._prefix + key, token)

    async def close(self) -> None:
        await self._client.aclose()
