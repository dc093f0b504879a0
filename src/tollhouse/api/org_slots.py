"""How much corpus work each organisation has in flight in this process, and the cap on it.

The corpus threads are shared by every licensee; without a cap one organisation's parallel
expensive searches, each within its rate limits, would hold them all and make everyone else's
search wait. Each organisation may hold at most `limit` of them; a request past that is a 429
at once (not a queue, which would only move the wait), and the rest of the threads stay free
for other organisations.

Only the event loop takes and gives back slots, so the counts need no lock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class SlotsFull(Exception):
    """The organisation already holds every corpus slot it may (a 429 at the edge)."""


class OrgSlots:
    """In-flight corpus work per organisation, at most `limit` each."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._in_flight: dict[int, int] = {}

    def in_flight(self, org_id: int) -> int:
        return self._in_flight.get(org_id, 0)

    @contextmanager
    def held(self, org_id: int) -> Iterator[None]:
        """Hold one of `org_id`'s slots for the block; SlotsFull if it has none left."""
        count = self._in_flight.get(org_id, 0)
        if count >= self.limit:
            raise SlotsFull(org_id)
        self._in_flight[org_id] = count + 1
        try:
            yield
        finally:
            left = self._in_flight[org_id] - 1
            if left:
                self._in_flight[org_id] = left
            else:
                del self._in_flight[org_id]
