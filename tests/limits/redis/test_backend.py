"""What only the Redis backend has to prove: one round trip, every key expires, failure policy."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from tests.limits.conftest import ENDPOINT, SMALL_FILTER, Caller
from tollhouse.limits.errors import LimitsUnavailable
from tollhouse.limits.redis.backend import RedisLimits
from tollhouse.limits.service import LimitsService

pytestmark = pytest.mark.anyio


class CountingConnection(aioredis.Connection):
    """A real connection that counts the command batches it sends (= round trips)."""

    sent = 0

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        type(self).sent += 1
        await super().send_packed_command(command, check_health)


@pytest.fixture
async def counted(redis_url: str, redis_prefix: str, anyio_backend: str) -> Any:
    backend = RedisLimits(
        redis_url, dedupe=SMALL_FILTER, prefix=redis_prefix, connection_class=CountingConnection
    )
    yield backend
    keys = [k async for k in backend.redis.scan_iter(match=redis_prefix + "*")]
    if keys:
        await backend.redis.delete(*keys)
    await backend.close()


async def test_all_decisions_of_a_request_take_one_round_trip(
    counted: RedisLimits, caller_factory: Callable[..., Caller]
) -> None:
    service = LimitsService(counted)
    caller = caller_factory(windows=((450, 900), (10_000, 86_400)), cap=10_000)
    first = await service.admit(caller, ENDPOINT)  # loads the script (NOSCRIPT → LOAD) once
    await service.count_delivered(caller, range(100), first.reservation)
    assert counted.pipe is not None  # the hot path's own pipelined connection (resp_client.py)
    CountingConnection.sent = counted.pipe.sent = 0
    decision = await service.admit(caller, ENDPOINT)
    assert decision.admitted and len(decision.windows) == 2 and decision.reservation is not None
    assert counted.pipe.sent == 1
    await service.count_delivered(caller, range(50, 150), decision.reservation)
    assert counted.pipe.sent == 2
    assert CountingConnection.sent == 0  # nothing else went to Redis


async def test_every_key_expires(
    counted: RedisLimits, redis_prefix: str, caller_factory: Callable[..., Caller]
) -> None:
    service = LimitsService(counted)
    caller = caller_factory(windows=((5, 900), (50, 86_400)), cap=1000)
    decision = await service.admit(caller, ENDPOINT)
    await service.count_delivered(caller, [1, 2, 3], None)  # reservation kept on purpose
    assert decision.reservation is not None
    keys = [k async for k in counted.redis.scan_iter(match=redis_prefix + "*")]
    kinds = {k.decode()[len(redis_prefix) :].split(":")[0] for k in keys}
    assert kinds == {"w", "cap", "rsv", "seen", "daily"}
    ttls = [await counted.redis.ttl(k) for k in keys]
    assert all(ttl > 0 for ttl in ttls), dict(zip(keys, ttls, strict=True))
    # The dedupe filter is a fixed-size bitmap, whatever was counted.
    (seen,) = [k for k in keys if b":seen:" in k]
    assert await counted.redis.strlen(seen) <= SMALL_FILTER.memory_bytes


def _skewed(skew: float) -> Callable[[], float]:
    """A host clock `skew` seconds off."""
    return lambda: time.time() + skew


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP server that accepts connections and never answers (a hung Redis)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    listener.close()


@pytest.mark.timeout(10)
@pytest.mark.parametrize("where", ["refused", "silent"])
async def test_fail_closed_refuses_promptly_and_counts_it(
    where: str,
    silent_server: str,
    caller_factory: Callable[..., Caller],
    anyio_backend: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = "redis://127.0.0.1:1/0" if where == "refused" else silent_server
    service = LimitsService(RedisLimits(url, timeout_seconds=0.2), failure_policy="fail_closed")
    caller = caller_factory(cap=10)
    for _ in range(3):
        with pytest.raises(LimitsUnavailable):
            await service.admit(caller, ENDPOINT)
    assert service.metrics.failed_closed == 3 and service.metrics.backend_failures == 3
    assert await service.count_delivered(caller, [1, 2]) is None  # never raises after the handler
    assert service.metrics.uncounted_deliveries == 1
    # Logged, but not once per request: an outage must not flood the log.
    logged = [r for r in caplog.records if r.name == "tollhouse.limits"]
    assert len(logged) == 1 and "fail_closed" in logged[0].getMessage()
    await service.close()


@pytest.mark.timeout(10)
@pytest.mark.parametrize("where", ["refused", "silent"])
async def test_fail_open_admits_unchecked_promptly_and_counts_it(
    where: str, silent_server: str, caller_factory: Callable[..., Caller], anyio_backend: str
) -> None:
    url = "redis://127.0.0.1:1/0" if where == "refused" else silent_server
    service = LimitsService(RedisLimits(url, timeout_seconds=0.2), failure_policy="fail_open")
    decision = await service.admit(caller_factory(cap=10), ENDPOINT)
    assert decision.admitted and not decision.checked
    assert service.metrics.failed_open == 1 and service.metrics.failed_closed == 0
    await service.close()


async def test_hosts_with_skewed_clocks_share_one_window_and_one_cap(
    redis_url: str, redis_prefix: str, caller_factory: Callable[..., Caller], anyio_backend: str
) -> None:
    """Decisions use Redis's clock: a host 20 days ahead (another billing month by its own clock)
    and a host 20 days behind count into the same windows and the same cap as a correct one."""
    day = 86_400
    hosts = [
        RedisLimits(redis_url, prefix=redis_prefix, host_clock=_skewed(skew))
        for skew in (0, 20 * day, -20 * day)
    ]
    services = [LimitsService(h, reserve=0) for h in hosts]
    caller = caller_factory(windows=((3, 900),), cap=6)
    decisions = [await s.admit(caller, ENDPOINT) for s in services]
    assert [d.windows[0].remaining for d in decisions] == [2, 1, 0]
    assert len({(d.cap.period_start, d.cap.period_end) for d in decisions if d.cap}) == 1
    for n, service in enumerate(services):
        await service.count_delivered(caller, [n * 2, n * 2 + 1])
    refused = await services[1].admit(caller, ENDPOINT)
    assert refused.refusal == "cap" and refused.cap is not None and refused.cap.used == 6
    for host in hosts:
        await host.close()


@pytest.mark.timeout(10)
async def test_a_hung_redis_costs_one_call_its_timeout_and_then_backs_off(
    silent_server: str, caller_factory: Callable[..., Caller], anyio_backend: str
) -> None:
    timeout = 0.3
    backend = RedisLimits(silent_server, timeout_seconds=timeout)
    caller = caller_factory(cap=10)
    started = time.monotonic()
    with pytest.raises(LimitsUnavailable, match="unavailable"):
        await LimitsService(backend, failure_policy="fail_closed").admit(caller, ENDPOINT)
    # The bound is the setting itself (the margin absorbs a loaded machine's scheduling, and is
    # still half of what 4 x the timeout took).
    assert time.monotonic() - started < 2 * timeout
    assert backend.pipe is not None
    sent = backend.pipe.sent
    # The timeout counts as a failure: the next call does not wait on the hung server again.
    with pytest.raises(LimitsUnavailable, match="not retrying yet"):
        await LimitsService(backend, failure_policy="fail_closed").admit(caller, ENDPOINT)
    assert backend.pipe.sent == sent
    await backend.close()
