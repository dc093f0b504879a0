"""The limits hot path's pipelined Redis connection (resp_client.py), against a real Redis."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import hiredis
import pytest
import redis.asyncio as aioredis
from hypothesis import given
from hypothesis import strategies as st
from redis.exceptions import ResponseError

from tollhouse.limits.redis.resp_client import RedisPipe, encode

pytestmark = pytest.mark.anyio

_ARGS = st.lists(
    st.one_of(st.binary(max_size=64), st.text(max_size=32), st.integers(-(2**63), 2**63)),
    min_size=1,
    max_size=12,
)


def _as_bytes(arg: Any) -> bytes:
    if isinstance(arg, bytes):
        return arg
    return arg.encode() if isinstance(arg, str) else str(arg).encode()


@given(_ARGS)
def test_a_command_is_a_resp_array_of_its_arguments(args: list[Any]) -> None:
    reader = hiredis.Reader()
    reader.feed(encode(tuple(args)))
    assert reader.gets() == [_as_bytes(a) for a in args]
    assert reader.gets() is False  # nothing left over


def test_only_bytes_text_and_ints_are_sent() -> None:
    with pytest.raises(TypeError):
        encode(("SET", "k", 1.5))


async def test_pipelined_replies_reach_their_own_callers(redis_url: str, redis_prefix: str) -> None:
    pipe = RedisPipe(redis_url, connect_timeout=2)
    keys = [f"{redis_prefix}{i}" for i in range(200)]
    await asyncio.gather(*(pipe.execute("SET", k, i) for i, k in enumerate(keys)))
    got = await asyncio.gather(*(pipe.execute("GET", k) for k in keys))
    assert got == [str(i).encode() for i in range(200)]
    assert pipe.sent == 400
    await pipe.execute("DEL", *keys)
    pipe.close()


async def test_error_replies_raise_and_the_connection_goes_on(redis_url: str) -> None:
    pipe = RedisPipe(redis_url, connect_timeout=2)
    with pytest.raises(ResponseError):
        await pipe.execute("NOSUCHCOMMAND")
    assert await pipe.execute("PING") == b"PONG"
    pipe.close()


async def test_an_unknown_script_is_loaded_once(redis_url: str, redis_prefix: str) -> None:
    script = f"return '{redis_prefix}' .. ARGV[1]"  # unique: this Redis has never seen it
    sha = hashlib.sha1(script.encode()).hexdigest()
    pipe = RedisPipe(redis_url, connect_timeout=2)
    assert await pipe.evalsha(sha, script, ["x"]) == f"{redis_prefix}x".encode()
    pipe.sent = 0
    assert await pipe.evalsha(sha, script, ["y"]) == f"{redis_prefix}y".encode()
    assert pipe.sent == 1  # known now: no second load
    pipe.close()


async def test_a_dropped_connection_fails_its_callers_and_the_next_call_reconnects(
    redis_url: str,
) -> None:
    pipe = RedisPipe(redis_url, connect_timeout=2)
    client_id = await pipe.execute("CLIENT", "ID")
    blocked = asyncio.ensure_future(pipe.execute("BLPOP", "tollhouse-test:never", 0))
    await asyncio.sleep(0.05)
    admin = aioredis.Redis.from_url(redis_url)
    await admin.execute_command("CLIENT", "KILL", "ID", client_id)  # type: ignore[no-untyped-call]
    with pytest.raises(ConnectionError):
        await blocked
    assert await pipe.execute("PING") == b"PONG"
    assert await pipe.execute("CLIENT", "ID") != client_id
    await admin.aclose()
    pipe.close()


async def test_a_cancelled_call_keeps_the_order_for_the_others(redis_url: str) -> None:
    # A stream whose client leaves cancels its count: the others on the connection go on.
    pipe = RedisPipe(redis_url, connect_timeout=2)
    first_id = await pipe.execute("CLIENT", "ID")
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await pipe.execute("BLPOP", "tollhouse-test:never", "0.3")
    # BLPOP's late nil reply is dropped in its turn, not taken for ECHO's.
    assert await pipe.execute("ECHO", "after") == b"after"
    assert await pipe.execute("CLIENT", "ID") == first_id  # the same connection throughout
    pipe.close()


async def test_a_connection_that_stopped_answering_is_replaced(redis_url: str) -> None:
    pipe = RedisPipe(redis_url, connect_timeout=2, stale_after=0.1)
    first_id = await pipe.execute("CLIENT", "ID")
    stuck = asyncio.ensure_future(pipe.execute("BLPOP", "tollhouse-test:never", 0))
    # Only a lower bound on the time elapsed (twice stale_after), never a timed assertion: a
    # command sent earlier would queue behind the BLPOP on the old connection.
    await asyncio.sleep(0.2)
    assert await pipe.execute("PING") == b"PONG"  # on a new connection
    with pytest.raises(ConnectionError):
        await stuck  # failed when its connection was given up
    assert await pipe.execute("CLIENT", "ID") != first_id
    pipe.close()


async def test_the_url_selects_its_database(redis_url: str, redis_prefix: str) -> None:
    base = redis_url.rsplit("/", 1)[0]
    pipe = RedisPipe(f"{base}/3", connect_timeout=2)
    await pipe.execute("SET", f"{redis_prefix}db", "three")
    other = aioredis.Redis.from_url(f"{base}/3")
    assert await other.get(f"{redis_prefix}db") == b"three"
    await other.delete(f"{redis_prefix}db")
    await other.aclose()
    pipe.close()


async def test_a_refused_connection_raises_connection_refused() -> None:
    pipe = RedisPipe("redis://127.0.0.1:1/0", connect_timeout=2)
    with pytest.raises(ConnectionRefusedError):
        await pipe.execute("PING")


def test_it_works_on_uvloop(redis_url: str) -> None:
    # The server runs on uvloop, whose transports are not asyncio.Transport subclasses.
    import uvloop

    async def ping() -> Any:
        pipe = RedisPipe(redis_url, connect_timeout=2)
        try:
            return await asyncio.gather(*(pipe.execute("PING") for _ in range(3)))
        finally:
            pipe.close()

    assert uvloop.run(ping()) == [b"PONG"] * 3
