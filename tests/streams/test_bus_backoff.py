"""The Redis bus reader resubscribes with exponential back-off while Redis is gone, and keeps
trying (a failed resubscription leaves a pubsub that would wait forever without another error)."""

from __future__ import annotations

import asyncio

import hiredis
import pytest

from tollhouse.streams.redis import RESUBSCRIBE_BACKOFF, RedisBus

pytestmark = pytest.mark.anyio


async def _one_connection_redis() -> tuple[asyncio.Server, asyncio.Event]:
    """A Redis that answers one connection's SUBSCRIBE, then drops it and refuses any other."""
    dropped = asyncio.Event()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        parser = hiredis.Reader()
        while not dropped.is_set():
            data = await reader.read(65536)
            if not data:
                break
            parser.feed(data)
            while (command := parser.gets()) is not False:
                name = command[0].upper()
                if name == b"SUBSCRIBE":
                    channel = command[1]
                    writer.write(
                        b"*3\r\n$9\r\nsubscribe\r\n$%d\r\n%b\r\n:1\r\n" % (len(channel), channel)
                    )
                    await writer.drain()
                    server.close()  # no one connects again
                    dropped.set()
                else:  # CLIENT SETINFO and the like
                    writer.write(b"+OK\r\n")
                    await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, dropped


async def test_resubscribing_backs_off_to_its_cap(anyio_backend: str) -> None:
    server, dropped = await _one_connection_redis()
    port = server.sockets[0].getsockname()[1]
    waited: list[float] = []
    enough = asyncio.Event()

    async def sleep(seconds: float) -> None:  # the reader's wait, without waiting
        waited.append(seconds)
        if len(waited) == 7:
            enough.set()
            await asyncio.Event().wait()  # park here until the bus is closed
        await asyncio.sleep(0)

    async def ignore(_event: object) -> None:
        pass

    bus = RedisBus(f"redis://127.0.0.1:{port}/0", "t:", sleep=sleep)
    await bus.start(ignore)
    await dropped.wait()
    await asyncio.wait_for(enough.wait(), timeout=30)
    assert waited == [0.5, 1, 2, 4, 8, 8, 8]
    assert [RESUBSCRIBE_BACKOFF.delay(n) for n in range(1, 8)] == waited
    await bus.close()
