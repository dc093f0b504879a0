"""Waiting for a condition against a deadline, instead of sleeping a fixed time and asserting.

A fixed sleep is either too short on a loaded machine (a flaky failure) or longer than needed on
every run; polling stops as soon as the condition holds and fails only past a generous deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

DEADLINE_S = 10.0
POLL_S = 0.02


def wait_until(check: Callable[[], bool], what: str, timeout: float = DEADLINE_S) -> None:
    """Return once `check()` is true; fail with `what` if it is not within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(POLL_S)


async def wait_until_async(
    check: Callable[[], Awaitable[bool]], what: str, timeout: float = DEADLINE_S
) -> None:
    """`wait_until` for an async check, sleeping on the event loop between tries."""
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        await asyncio.sleep(POLL_S)
