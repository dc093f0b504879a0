"""Latency histograms of the strict acknowledgement, for `GET /admin/v1/metrics`.

What strict metering costs depends on the disk and on how busy the core is: on one 2-core VM the
spool's durable write took 0.2 ms at p50 but 2-4 ms at p99 under load, against 0.3 ms for the same
write on an idle machine (bench/RESULTS.md, gateway fifth pass). An operator choosing between
`strict` and `fast` needs those numbers from their own machine, so the writer keeps them.

Fixed buckets, counted cumulatively as Prometheus does (`le`), so that a scraper can sum them across
processes and derive quantiles. One writer per histogram at a time: the spool's under the spool
lock, the acknowledgement's on the event loop. Readers may see a snapshot taken mid-update, which is
off by at most one observation.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any

# Upper bounds in milliseconds: a local fsync is 0.1-1 ms, and anything past 100 ms is an outage.
BOUNDS_MS = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0)


class LatencyHistogram:
    """Counts of durations by bucket, their number and their sum."""

    __slots__ = ("_counts", "count", "sum_ms")

    def __init__(self) -> None:
        self._counts = [0] * (len(BOUNDS_MS) + 1)  # the last one: above every bound
        self.count = 0
        self.sum_ms = 0.0

    def observe(self, seconds: float) -> None:
        ms = seconds * 1000.0
        self._counts[bisect_left(BOUNDS_MS, ms)] += 1
        self.count += 1
        self.sum_ms += ms

    def snapshot(self) -> dict[str, Any]:
        """`{"count", "sum_ms", "buckets": {"0.25": n, …, "+Inf": count}}`, buckets cumulative."""
        buckets: dict[str, int] = {}
        running = 0
        for bound, n in zip(BOUNDS_MS, self._counts, strict=False):
            running += n
            buckets[f"{bound:g}"] = running
        buckets["+Inf"] = running + self._counts[-1]
        return {"count": self.count, "sum_ms": round(self.sum_ms, 3), "buckets": buckets}
