"""Where compliance reads the time: the wall clock, or one a test sets on the app
(`app.state.compliance_clock`), so that URL lifetimes and deadlines can be crossed without
waiting."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def clock_of(app: Any) -> Clock:
    """The clock set on `app.state.compliance_clock`, else the wall clock."""
    clock = getattr(getattr(app, "state", None), "compliance_clock", None)
    return clock if callable(clock) else utc_now
