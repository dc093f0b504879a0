"""The latency histograms behind /admin/v1/metrics: cumulative buckets that match the values."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tollhouse.metering.timing import BOUNDS_MS, LatencyHistogram

durations = st.lists(st.floats(min_value=0.0, max_value=5.0, allow_nan=False), max_size=200)


@given(durations)
def test_buckets_count_every_value_at_or_under_their_bound(seconds: list[float]) -> None:
    histogram = LatencyHistogram()
    for value in seconds:
        histogram.observe(value)
    snapshot = histogram.snapshot()
    ms = [value * 1000.0 for value in seconds]
    assert snapshot["count"] == len(seconds)
    assert snapshot["buckets"]["+Inf"] == len(seconds)
    for bound in BOUNDS_MS:
        assert snapshot["buckets"][f"{bound:g}"] == sum(1 for v in ms if v <= bound)
    counts = list(snapshot["buckets"].values())
    assert counts == sorted(counts)  # cumulative: never decreasing
    assert abs(snapshot["sum_ms"] - sum(ms)) <= 0.001 + 1e-9 * sum(ms)


def test_a_value_on_a_bound_falls_in_that_bucket() -> None:
    histogram = LatencyHistogram()
    histogram.observe(0.001)  # exactly 1 ms
    histogram.observe(0.2)  # 200 ms: above every bound
    buckets = histogram.snapshot()["buckets"]
    assert buckets["0.5"] == 0 and buckets["1"] == 1 and buckets["100"] == 1
    assert buckets["+Inf"] == 2
