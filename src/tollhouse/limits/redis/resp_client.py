"""One pipelined Redis connection for the limits hot path (EVALSHA of the admit/count scripts).

Written here because the measurement says the library is the bottleneck: through redis-py's
asyncio client each EVALSHA cost the serving process ≈ 120-250 µs of CPU (its connection pool,
command packing and reply handling around every call), so with two calls per request Redis limits
ran at 0.66x the throughput of memory limits (bench/gateway.py, 2026-11-30). The hot path needs
exactly one command, so this speaks RESP directly on one connection per process: each command
is written as it comes and queues a future; Redis answers in order, and each reply resolves the
oldest future (replies are parsed by hiredis, the parser redis-py itself uses when installed).
Everything else (usage snapshots, key scans, tests) stays on redis-py.

Failure handling mirrors what the limits backend expects from redis-py: a refused connection
raises ConnectionRefusedError, a lost one ConnectionError, an error reply redis-py's
ResponseError; the caller bounds every call with a timeout. A cancelled call (its timeout, or a
stream whose client left) keeps its place in the queue, so its reply, when it comes, is dropped
and the order holds for everyone else. A connection whose oldest unanswered command has waited
longer than `stale_after` seconds is treated as gone: the next call closes it (failing whatever
still waits on it) and connects afresh.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any, cast

import hiredis
from redis.connection import parse_url
from redis.exceptions import ResponseError


def encode(args: tuple[Any, ...]) -> bytes:
    """A command as a RESP array of bulk strings (ints in decimal, str as UTF-8)."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, bytes):
            data = arg
        elif isinstance(arg, str):
            data = arg.encode()
        elif isinstance(arg, int):
            data = b"%d" % arg
        else:
            raise TypeError(f"cannot send {type(arg).__name__} to Redis")
        parts.append(b"$%d\r\n%b\r\n" % (len(data), data))
    return b"".join(parts)


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.reader = hiredis.Reader()
        self.waiting: deque[asyncio.Future[Any]] = deque()
        # When each waiting command was sent (monotonic seconds), in the same order.
        self.sent_at: deque[float] = deque()
        self.transport: asyncio.Transport | None = None
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # (uvloop's TCPTransport is no subclass of asyncio.Transport, though it is one.)
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while (reply := self.reader.gets()) is not False:
            if not self.waiting:  # a reply nobody asked for: the stream cannot be trusted
                self.close()
                return
            future = self.waiting.popleft()
            self.sent_at.popleft()
            if not future.done():  # a cancelled caller's reply is dropped, in its turn
                future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        error = ConnectionError(f"Redis connection lost: {exc!r}")
        self.sent_at.clear()
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_exception(error)

    def stale(self, now: float, after: float) -> bool:
        """True if the oldest unanswered command was sent more than `after` seconds ago."""
        return bool(self.sent_at) and now - self.sent_at[0] > after

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        self.lost = True


class RedisPipe:
    """Pipelined commands on one lazily (re)connected Redis connection."""

    def __init__(self, url: str, connect_timeout: float, stale_after: float = 5.0) -> None:
        options: dict[str, Any] = parse_url(url)  # type: ignore[no-untyped-call]
        self.host: str = options.get("host", "localhost")
        self.port: int = int(options.get("port", 6379))
        self.setup: list[tuple[Any, ...]] = []
        if options.get("password"):
            user = options.get("username")
            credentials = (user, options["password"]) if user else (options["password"],)
            self.setup.append(("AUTH", *credentials))
        if int(options.get("db", 0)):
            self.setup.append(("SELECT", int(options["db"])))
        self.connect_timeout = connect_timeout
        self.stale_after = stale_after
        self.sent = 0  # commands written (tests count round trips with it)
        self._connection: _Connection | None = None
        self._connecting: asyncio.Lock | None = None

    @staticmethod
    def supports(url: str) -> bool:
        """Plain TCP URLs only; TLS and Unix sockets stay with redis-py."""
        return url.startswith("redis://")

    async def execute(self, *args: Any) -> Any:
        """Send one command and return its reply (an error reply raises ResponseError)."""
        connection = self._connection
        if connection is not None and connection.stale(time.monotonic(), self.stale_after):
            connection.close()  # Redis stopped answering it; what waits on it fails now
        if connection is None or connection.lost:
            connection = await self._connect()
        reply = await self._send(connection, args)
        if isinstance(reply, hiredis.ReplyError):
            raise ResponseError(str(reply))
        return reply

    async def evalsha(self, sha: str, script: bytes | str, args: list[Any]) -> Any:
        """EVALSHA with no keys; the script is loaded once if Redis does not know it."""
        try:
            return await self.execute("EVALSHA", sha, 0, *args)
        except ResponseError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
        await self.execute("SCRIPT", "LOAD", script)
        return await self.execute("EVALSHA", sha, 0, *args)

    async def _send(self, connection: _Connection, args: tuple[Any, ...]) -> Any:
        assert connection.transport is not None
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        connection.waiting.append(future)
        connection.sent_at.append(time.monotonic())
        connection.transport.write(encode(args))
        self.sent += 1
        return await future

    async def _connect(self) -> _Connection:
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            current = self._connection
            if current is not None and not current.lost:
                return current  # another caller connected while this one waited
            loop = asyncio.get_running_loop()
            async with asyncio.timeout(self.connect_timeout):
                _transport, connection = await loop.create_connection(
                    _Connection, self.host, self.port
                )
                for command in self.setup:
                    reply = await self._send(connection, command)
                    if isinstance(reply, hiredis.ReplyError):
                        connection.close()
                        raise ResponseError(str(reply))
            self._connection = connection
            return connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
