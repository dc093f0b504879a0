"""How long a background reconnect loop waits after each consecutive failure.

Exponential with a cap: a dependency that is down for an hour costs a few log lines a minute,
not one a second, and one that comes back is retried within the cap.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """`initial` seconds after the first failure, times `factor` after each next one, at most
    `cap`."""

    initial: float = 1.0
    factor: float = 2.0
    cap: float = 30.0

    def delay(self, failures: int) -> float:
        """Seconds to wait after the `failures`-th consecutive failure (1 for the first)."""
        if failures < 1:
            return 0.0
        # Past the cap the power only grows; stop computing it there (no float overflow).
        steps = min(failures - 1, 64)
        return min(self.cap, self.initial * self.factor**steps)
