from __future__ import annotations

from tollhouse.backoff import Backoff


def test_delays_double_from_the_first_failure_up_to_the_cap() -> None:
    backoff = Backoff(initial=1.0, factor=2.0, cap=30.0)
    assert [backoff.delay(n) for n in range(0, 9)] == [0.0, 1, 2, 4, 8, 16, 30, 30, 30]
    assert backoff.delay(10_000) == 30.0  # a long outage neither overflows nor passes the cap
