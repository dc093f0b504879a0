"""The per-process fan-out: match each post from the bus once, put it in the bounded buffer of
every local connection it is for, and cut off connections that fall behind.

Fast consumers never wait for slow ones: the dispatcher only appends to buffers (never awaits a
client), and a buffer that would pass its bound closes its connection with X's operational
disconnect instead of growing. Memory is therefore bounded by connections times the bound.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from tollhouse.streams.events import Event, PostPublished, RulesChanged
from tollhouse.streams.index import CompiledRule, RuleIndex, matchable
from tollhouse.streams.rules import StreamRule
from tollhouse.streams.sample import in_sample

log = logging.getLogger("tollhouse.streams")

StreamKind = Literal["filter", "sample"]
# Loads and compiles an app's rules (in a worker thread: it reads the database and parses).
RuleLoader = Callable[[str], Awaitable[Sequence[tuple[StreamRule, CompiledRule]]]]


@dataclass(frozen=True, slots=True)
class StreamDelivery:
    """One post for one connection, with the rules of that connection's app it matched."""

    event: PostPublished
    rules: tuple[StreamRule, ...] = ()


class StreamConnection:
    """One client's stream: a bounded buffer the hub fills and the response drains."""

    def __init__(self, app_id: str, kind: StreamKind, limit: int) -> None:
        self.app_id = app_id
        self.kind = kind
        self.limit = limit
        self._buffer: deque[StreamDelivery] = deque()
        self._wakeup = asyncio.Event()
        self._ended = asyncio.Event()
        # Why the hub ended this connection ("slow" when its buffer overflowed), or None.
        self.ended: str | None = None

    def offer(self, delivery: StreamDelivery) -> None:
        """Buffer `delivery`, or end the connection if its buffer is full (a slow reader)."""
        if self.ended is not None:
            return
        if len(self._buffer) >= self.limit:
            self.end("slow")
            return
        self._buffer.append(delivery)
        self._wakeup.set()

    def end(self, reason: str) -> None:
        if self.ended is None:
            self.ended = reason
            self._buffer.clear()
        self._wakeup.set()
        self._ended.set()

    async def wait_ended(self) -> None:
        """Return once the connection has ended."""
        await self._ended.wait()

    async def next_batch(self, timeout: float) -> list[StreamDelivery] | None:
        """Everything buffered, waiting up to `timeout` s for something; None if nothing came
        (time for a keep-alive) or the connection ended (check `ended`)."""
        if not self._buffer and self.ended is None:
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), timeout)
            except TimeoutError:
                return None
        if self.ended is not None or not self._buffer:
            return None
        batch = list(self._buffer)
        self._buffer.clear()
        return batch

    @property
    def buffered(self) -> int:
        return len(self._buffer)


class StreamHub:
    """Connections of this process, the index of their apps' rules, and the dispatcher."""

    def __init__(self, load_rules: RuleLoader, buffer_limit: int = 1000) -> None:
        self._load_rules = load_rules
        self.buffer_limit = buffer_limit
        self._filters: dict[str, set[StreamConnection]] = {}
        self._samples: set[StreamConnection] = set()
        self._index = RuleIndex()
        self._rules: dict[int, StreamRule] = {}
        self._rule_ids_by_app: dict[str, set[int]] = {}
        # Reloads of one app run one at a time so an older load never overwrites a newer one.
        self._reload_locks: dict[str, asyncio.Lock] = {}

    # -- connections ---------------------------------------------------------------------------

    async def connect_filter(self, app_id: str) -> StreamConnection:
        """A new filtered-stream connection for `app_id`, with the app's rules indexed."""
        conn = StreamConnection(app_id, "filter", self.buffer_limit)
        first = app_id not in self._filters
        self._filters.setdefault(app_id, set()).add(conn)
        if first:
            try:
                await self.reload(app_id)
            except BaseException:
                self.disconnect(conn)
                raise
        return conn

    def rule_values(self, app_id: str) -> tuple[str, ...]:
        """The values of the app's rules indexed here now (sorted)."""
        ids = self._rule_ids_by_app.get(app_id, ())
        return tuple(sorted(self._rules[i].value for i in ids if i in self._rules))

    def connect_sample(self, app_id: str) -> StreamConnection:
        conn = StreamConnection(app_id, "sample", self.buffer_limit)
        self._samples.add(conn)
        return conn

    def disconnect(self, conn: StreamConnection) -> None:
        """Forget `conn`; the last connection of an app takes its rules out of the index."""
        conn.end(conn.ended or "closed")
        if conn.kind == "sample":
            self._samples.discard(conn)
            return
        group = self._filters.get(conn.app_id)
        if group is None:
            return
        group.discard(conn)
        if not group:
            del self._filters[conn.app_id]
            self._replace_rules(conn.app_id, ())

    def key_cost(self, key: str) -> float:
        """How common an anchor key is in the posts seen here (see RuleIndex.key_cost)."""
        return self._index.key_cost(key)

    @property
    def connection_count(self) -> int:
        return len(self._samples) + sum(len(g) for g in self._filters.values())

    # -- rules ---------------------------------------------------------------------------------

    async def reload(self, app_id: str) -> None:
        """Re-read the app's rules if it has a connection here (after a rules change)."""
        lock = self._reload_locks.setdefault(app_id, asyncio.Lock())
        async with lock:
            if app_id not in self._filters:
                return
            compiled = await self._load_rules(app_id)
            if app_id in self._filters:
                self._replace_rules(app_id, compiled)

    def _replace_rules(
        self, app_id: str, compiled: Sequence[tuple[StreamRule, CompiledRule]]
    ) -> None:
        for rule_id in self._rule_ids_by_app.pop(app_id, set()):
            self._index.remove(rule_id)
            self._rules.pop(rule_id, None)
        if compiled:
            self._rule_ids_by_app[app_id] = {rule.id for rule, _ in compiled}
            for rule, rule_matcher in compiled:
                self._rules[rule.id] = rule
                self._index.add(rule.id, rule_matcher)

    # -- dispatch ------------------------------------------------------------------------------

    async def handle(self, event: Event) -> None:
        """The bus handler: deliver a post, or reload an app's rules."""
        if isinstance(event, PostPublished):
            self.dispatch(event)
        elif isinstance(event, RulesChanged):
            await self.reload(event.app_id)
        # Deletions are for the compliance stream; the filtered stream does not carry them.

    def dispatch(self, event: PostPublished) -> None:
        """Match `event` once and offer it to every local connection it is for."""
        if self._filters:
            by_app: dict[str, list[StreamRule]] = {}
            for rule_id in self._index.match(matchable(event)):
                rule = self._rules[rule_id]
                by_app.setdefault(rule.app_id, []).append(rule)
            for app_id, rules in by_app.items():
                delivery = StreamDelivery(event, tuple(sorted(rules, key=lambda r: r.id)))
                for conn in list(self._filters.get(app_id, ())):
                    conn.offer(delivery)
        if self._samples and in_sample(event.post.id):
            delivery = StreamDelivery(event)
            for conn in list(self._samples):
                conn.offer(delivery)

    def close_all(self, reason: str = "shutdown") -> None:
        for group in self._filters.values():
            for conn in group:
                conn.end(reason)
        for conn in self._samples:
            conn.end(reason)
