"""The compliance streams' fan-out: content events, already in X's stream shape, to every local
compliance-stream connection of their stream and partition, with the last five minutes kept for
`backfill_minutes`.

Each process sees every bus event, so each keeps its own backfill buffer. A backfill re-sends
events a client may have had already; consumers are idempotent (X says so), and notices are
recorded once per organisation and event, however often a line is sent.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass
from typing import Literal

ComplianceStream = Literal["tweets", "users"]
PARTITIONS = 4
BACKFILL_SECONDS = 5 * 60


def partition_of(subject_id: int) -> int:
    """X's partition (1-4) of an id."""
    return subject_id % PARTITIONS + 1


@dataclass(frozen=True, slots=True)
class ComplianceEventPublished:
    """One compliance-stream line: `line` is the JSON X sends (without the newline);
    `notice_key` names the content event for notices; `published_at` is Unix seconds."""

    stream: ComplianceStream
    subject_id: int
    line: bytes
    notice_key: str
    published_at: float

    @property
    def partition(self) -> int:
        return partition_of(self.subject_id)


class ComplianceConnection:
    """One client's compliance stream: a bounded queue of lines."""

    def __init__(self, app_id: str, stream: ComplianceStream, partition: int, limit: int) -> None:
        self.app_id = app_id
        self.stream = stream
        self.partition = partition
        self.limit = limit
        self._buffer: deque[ComplianceEventPublished] = deque()
        self._wakeup = asyncio.Event()
        self.ended: str | None = None

    def offer(self, event: ComplianceEventPublished) -> None:
        if self.ended is not None:
            return
        if len(self._buffer) >= self.limit:
            self.end("slow")
            return
        self._buffer.append(event)
        self._wakeup.set()

    def end(self, reason: str) -> None:
        if self.ended is None:
            self.ended = reason
            self._buffer.clear()
        self._wakeup.set()

    async def next_batch(self, timeout: float) -> list[ComplianceEventPublished] | None:
        """Everything buffered, waiting up to `timeout` s; None for a keep-alive or an end."""
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


class ComplianceFanout:
    """This process's compliance-stream connections and backfill buffer."""

    def __init__(self, buffer_limit: int = 1000) -> None:
        self.buffer_limit = buffer_limit
        self._connections: set[ComplianceConnection] = set()
        self._recent: deque[ComplianceEventPublished] = deque()

    def connect(
        self, app_id: str, stream: ComplianceStream, partition: int, backfill_minutes: int = 0
    ) -> ComplianceConnection:
        conn = ComplianceConnection(app_id, stream, partition, self.buffer_limit)
        if backfill_minutes:
            since = time.time() - 60 * backfill_minutes
            for event in self._recent:
                if event.published_at >= since and self._for(conn, event):
                    conn.offer(event)
        self._connections.add(conn)
        return conn

    def disconnect(self, conn: ComplianceConnection) -> None:
        conn.end(conn.ended or "closed")
        self._connections.discard(conn)

    @staticmethod
    def _for(conn: ComplianceConnection, event: ComplianceEventPublished) -> bool:
        return conn.stream == event.stream and conn.partition == event.partition

    def dispatch(self, event: ComplianceEventPublished) -> None:
        self._recent.append(event)
        horizon = time.time() - BACKFILL_SECONDS
        while self._recent and self._recent[0].published_at < horizon:
            self._recent.popleft()
        for conn in list(self._connections):
            if self._for(conn, event):
                conn.offer(event)

    def close_all(self, reason: str = "shutdown") -> None:
        for conn in self._connections:
            conn.end(reason)
