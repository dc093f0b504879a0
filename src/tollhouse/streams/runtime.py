"""One process's streaming machinery: the bus, the connection slots and the hub, started on first
use and kept on the ASGI app (`app.state`), so that processes that never stream never subscribe.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Engine

from tollhouse.corpus.query import parse
from tollhouse.settings import Settings
from tollhouse.streams.bus import Bus, ConnectionSlots, bus_from_url
from tollhouse.streams.hub import StreamHub
from tollhouse.streams.index import CompiledRule, KeyCost, compile_rule, guessed_cost
from tollhouse.streams.rules import StreamRule, list_rules

_STATE_ATTR = "tollhouse_streams"
# Stored rules were validated against the plan when added; a later, smaller plan limit must not
# make them unloadable, so they are parsed here with a generous bound.
_STORED_RULE_MAX_LENGTH = 1 << 16


def compiled_rules(
    engine: Engine, app_id: str, cost: KeyCost = guessed_cost
) -> list[tuple[StreamRule, CompiledRule]]:
    """The app's rules from the database, each parsed and compiled for the index."""
    with engine.connect() as conn:
        rules = list_rules(conn, app_id)
    return [
        (rule, compile_rule(parse(rule.value, _STORED_RULE_MAX_LENGTH), cost)) for rule in rules
    ]


class StreamRuntime:
    """The bus, slots and hub of one process."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.bus: Bus
        self.slots: ConnectionSlots
        self.bus, self.slots = bus_from_url(settings.bus_url)
        self.hub = StreamHub(self._load_rules, settings.stream_buffer_posts)
        self._started = False
        self._lock = asyncio.Lock()

    async def _load_rules(self, app_id: str) -> Sequence[tuple[StreamRule, CompiledRule]]:
        return await asyncio.to_thread(compiled_rules, self.engine, app_id, self.hub.key_cost)

    async def start(self) -> StreamRuntime:
        """Subscribe to the bus (once)."""
        async with self._lock:
            if not self._started:
                await self.bus.start(self.hub.handle)
                self._started = True
        return self

    async def close(self) -> None:
        self.hub.close_all()
        if self._started:
            await self.bus.close()
            self._started = False
        closer = getattr(self.slots, "close", None)
        if closer is not None:
            await closer()


async def runtime_for(app: Any) -> StreamRuntime:
    """The started StreamRuntime of the ASGI app, created on first use."""
    runtime: StreamRuntime | None = getattr(app.state, _STATE_ATTR, None)
    if runtime is None:
        state = app.state.tollhouse
        runtime = StreamRuntime(state.settings, state.engine)
        setattr(app.state, _STATE_ATTR, runtime)
    return await runtime.start()


async def close_runtime(app: Any) -> None:
    """End this process's streams and release the bus (at shutdown); a no-op if never used."""
    runtime: StreamRuntime | None = getattr(app.state, _STATE_ATTR, None)
    if runtime is not None:
        await runtime.close()
