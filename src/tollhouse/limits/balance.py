"""Prepaid balances at the edge: a counter per pay-per-use organisation, spent per delivery.

Billing feeds it (a grant adds, with the unit prices then in force); the edge reads it before a
request of an organisation whose plan is prepaid and refuses at zero or below, and spends what
was delivered afterwards (posts new today by the daily dedupe, user reads). Amounts are whole
micro-units of the currency (1e-6), so Redis can add them exactly: $0.005 is 5 000. A request
admitted with credit left may take the balance below zero by at most its own page, the "soft
guarantee" X describes; then requests are refused until credit is added.

`MemoryBalances` serves one process; `RedisBalances` keeps one hash per organisation
(`b` balance, `p` and `u` micros per post and per user read), each step one round trip (through
limits' pipelined connection when it is there), exact across processes.
"""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any, Protocol

MICROS = Decimal(1_000_000)

SPEND = """
local key = ARGV[1]
local p = tonumber(redis.call('HGET', key, 'p') or '0')
local u = tonumber(redis.call('HGET', key, 'u') or '0')
local cost = tonumber(ARGV[2]) * p + tonumber(ARGV[3]) * u
if cost == 0 then return tonumber(redis.call('HGET', key, 'b') or '0') end
return redis.call('HINCRBY', key, 'b', -cost)
"""

CHECK = """
return redis.call('HGET', ARGV[1], 'b')
"""


def to_micros(amount: Decimal) -> int:
    """Exact micro-units; an amount finer than a micro-unit is refused."""
    scaled = amount * MICROS
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} is finer than a millionth")
    return int(scaled)


class PrepaidBalances(Protocol):
    async def check(self, org_id: int) -> int | None:
        """The balance in micro-units, or None when the organisation has none."""
        ...

    async def spend(self, org_id: int, posts: int, user_reads: int) -> int:
        """Take the cost of `posts` and `user_reads` at the stored prices; the new balance."""
        ...

    def credit(self, org_id: int, amount: Decimal, post_read: Decimal, user_read: Decimal) -> int:
        """Add `amount` and set the unit prices (billing's side; synchronous)."""
        ...

    async def close(self) -> None: ...


class MemoryBalances:
    def __init__(self) -> None:
        self._lock = threading.Lock()  # credit() comes from a worker thread
        self._b: dict[int, int] = {}
        self._prices: dict[int, tuple[int, int]] = {}

    async def check(self, org_id: int) -> int | None:
        return self._b.get(org_id)

    async def spend(self, org_id: int, posts: int, user_reads: int) -> int:
        p, u = self._prices.get(org_id, (0, 0))
        with self._lock:
            left = self._b.get(org_id, 0) - posts * p - user_reads * u
            self._b[org_id] = left
        return left

    def credit(self, org_id: int, amount: Decimal, post_read: Decimal, user_read: Decimal) -> int:
        with self._lock:
            self._prices[org_id] = (to_micros(post_read), to_micros(user_read))
            left = self._b.get(org_id, 0) + to_micros(amount)
            self._b[org_id] = left
        return left

    async def close(self) -> None:
        return None


class RedisBalances:
    def __init__(self, url: str, prefix: str = "tollhouse:limits:", pipe: Any = None) -> None:
        import redis
        import redis.asyncio as aioredis

        self.url = url
        self.prefix = prefix
        self.redis = aioredis.Redis.from_url(url)
        self.sync = redis.Redis.from_url(url)
        self.pipe = pipe
        self._spend = self.redis.register_script(SPEND)
        self._check = self.redis.register_script(CHECK)

    def key(self, org_id: int) -> str:
        return f"{self.prefix}balance:{org_id}"

    async def _eval(self, script: Any, args: list[Any]) -> Any:
        if self.pipe is not None:
            return await self.pipe.evalsha(script.sha, script.script, args)
        return await script(keys=[], args=args)

    async def check(self, org_id: int) -> int | None:
        value = await self._eval(self._check, [self.key(org_id)])
        return None if value is None else int(value)

    async def spend(self, org_id: int, posts: int, user_reads: int) -> int:
        return int(await self._eval(self._spend, [self.key(org_id), posts, user_reads]))

    def credit(self, org_id: int, amount: Decimal, post_read: Decimal, user_read: Decimal) -> int:
        key = self.key(org_id)
        with self.sync.pipeline(transaction=True) as tx:
            tx.hset(key, mapping={"p": to_micros(post_read), "u": to_micros(user_read)})
            tx.hincrby(key, "b", to_micros(amount))
            _, left = tx.execute()
        return int(left)

    async def close(self) -> None:
        await self.redis.aclose()
        self.sync.close()
