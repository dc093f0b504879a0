"""One suite, both backends: windows, caps, reservations, dedupe, usage, plan changes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from tests.limits.conftest import ENDPOINT, Caller
from tollhouse.limits.backend import LimitsBackend
from tollhouse.limits.periods import period_candidates, window_reset
from tollhouse.limits.service import LimitsService

pytestmark = pytest.mark.anyio


async def _sleep_past(epoch: int) -> None:
    await asyncio.sleep(max(0.0, epoch - time.time()) + 0.05)


async def _at_window_start(seconds: int) -> None:
    """Start a short-window test early in a window so that it cannot straddle a reset."""
    if window_reset(time.time(), seconds) - time.time() < seconds * 0.6:
        await _sleep_past(window_reset(time.time(), seconds))


async def test_window_admits_up_to_its_limit_then_resets_at_the_advertised_time(
    backend: LimitsBackend, caller_factory: Callable[..., Caller]
) -> None:
    service = LimitsService(backend)
    caller = caller_factory(windows=((3, 2),))
    await _at_window_start(2)
    decisions = [await service.admit(caller, ENDPOINT) for _ in range(4)]
    assert [d.admitted for d in decisions] == [True, True, True, False]
    assert [d.windows[0].remaining for d in decisions] == [2, 1, 0, 0]
    assert decisions[3].refusal == "window"
    resets = {d.windows[0].reset for d in decisions}
    assert len(resets) == 1  # the same reset for every request in the window
    (reset,) = resets
    assert reset % 2 == 0 and decisions[0].now < reset <= decisions[0].now + 2
    await _sleep_past(reset)
    after = await service.admit(caller, ENDPOINT)
    assert (
        after.admitted and after.windows[0].remaining == 2 and after.windows[0].reset == reset + 2
    )


async def test_every_window_must_admit_and_a_refusal_consumes_none(
    backend: LimitsBackend, caller_factory: Callable[..., Caller]
) -> None:
    service = LimitsService(backend)
    caller = caller_factory(windows=((5, 900), (3, 86_400)))
    results = [await service.admit(caller, ENDPOINT) for _ in range(5)]
    assert [d.admitted for d in results] == [True, True, True, False, False]
    refused = results[-1]
    assert refused.refusal == "window"
    by_size = {w.window_seconds: w for w in refused.windows}
    assert by_size[86_400].remaining == 0
    assert by_size[900].remaining == 2  # refused requests did not use the 15-minute window
    assert by_size[86_400].reset == window_reset(refused.now, 86_400)


async def test_windows_are_per_app_and_per_endpoint(
    backend: LimitsBackend, caller_factory: Callable[..., Caller]
) -> None:
    service = LimitsService(backend)
    first = caller_factory(app_id=1, windows=((1, 900),))
    second = caller_factory(app_id=2, windows=((1, 900),))
    assert (await service.admit(first, ENDPOINT)).admitted
    assert not (await service.admit(first, ENDPOINT)).admitted
    assert (await service.admit(second, ENDPOINT)).admitted
    # An endpoint without windows in the plan is not window-limited.
    assert (await service.admit(first, "/2/tweets")).admitted


async def test_a_plan_change_takes_effect_on_the_next_request(
    backend: LimitsBackend, caller_factory: Callable[..., Caller]
) -> None:
    service = LimitsService(backend)
    for _ in range(3):
        assert (await service.admit(caller_factory(windows=((5, 900),)), ENDPOINT)).admitted
    smaller = await service.admit(caller_factory(windows=((2, 900),)), ENDPOINT)
    assert not smaller.admitted and smaller.windows[0].limit == 2
    larger = await service.admit(caller_factory(windows=((10, 900),)), ENDPOINT)
    assert larger.admitted and larger.windows[0].remaining == 6
    assert (await service.admit(caller_factory(cap=0), ENDPOINT)).refusal == "cap"


async def test_cap_counts_delivered_posts_and_refuses_when_used_up(
    backend: LimitsBackend, caller_factory: Callable[..., Caller]
) -> None:
    service = LimitsService(backend, reserve=0)
    caller = caller_factory(cap=5)
    other_app = caller_factory(app_id=12, cap=5)
    decision = await service.admit(caller, ENDPOINT)
    assert decision.admitted and decision.cap is not None and decision.cap.used == 0
    counted = await service.count_delivered(caller, [1, 2, 3])
    assert counted is not None and (counted.new_posts, counted.used) == (3, 3)
    assert (await service.admit(other_app, ENDPOINT)).admitted
    counted = await service.count_delivered(other_app, [4, 5])
    assert counted is not None and counted.used == 5  # the cap is the organisation's
    refused = await service.admit(other_app, ENDPOINT)
    assert refused.refusal == "cap" and refused.cap is not None
    start, end = (
        period_candidates(refused.now, 1)[1].start_epoch,
        period_candidates(refused.now, 1)[1].end_epoch,
    )
    assert (refused.cap.period_start, refused.cap.period_end) == (start, end)
    # Another organisation is untouched; endpoints that deliver no posts still answer.
    assert (await service.admit(caller_factory(org_id=2, cap=5), ENDPOINT)).admitted
    assert (await service.admit(caller, "/2/usage/tweets", metered=False)).admitted


async def test_overage_plans_keep_serving_past_the_cap(
    backend: LimitsBackend, caller_factory: Callable[..., Caller]
) -> None:
    service = LimitsService(backend)
    caller = caller_factory(cap=2, overage=True)
    decision = await service.admit(caller, ENDPOINT)
    assert decision.reservation is None  # nothing to reserve: the cap never refuses
    await service.count_delivered(caller, [1, 2, 3, 4])
    again = await service.admit(caller, ENDPOINT)
    assert again.admitted and again.cap is not None and again.cap.used == 4


async def test_a_post_delivered_twice_the_same_day_counts_once(
    backend: LimitsBackend, caller_factory: Callable[..., Caller]
) -> None:
    service = LimitsService(backend)
    caller = caller_factory(cap=1000)
    first = await service.count_delivered(caller, [10, 11, 12, 12])
    second = await service.count_delivered(caller_factory(app_id=99, cap=1000), [11, 12, 13])
    other_org = await service.count_delivered(caller_factory(org_id=7, cap=1000), [10, 11])
    assert first is not None and (first.new_posts, first.used) == (3, 3)
    assert second is not None and (second.new_posts, second.used) == (1, 4)
    assert other_org is not None and other_org.new_posts == 2


async def test_reservations_bound_the_cap_overshoot_to_one_page(
    backend: LimitsBackend, caller_factory: Callable[..., Caller]
) -> None:
    service = LimitsService(backend, reserve=100)
    caller = caller_factory(cap=150)
    a = await service.admit(caller, ENDPOINT)
    b = await service.admit(caller, ENDPOINT)
    c = await service.admit(caller, ENDPOINT)
    assert a.admitted and b.admitted and c.refusal == "cap_pending"
    await service.count_delivered(caller, range(1000, 1100), a.reservation)
    assert (await service.admit(caller, ENDPOINT)).refusal == "cap_pending"  # b still holds 100
    done = await service.count_delivered(caller, range(2000, 2100), b.reservation)
    assert done is not None and done.used == 200 <= 150 + 100
    assert (await service.admit(caller, ENDPOINT)).refusal == "cap"


async def test_a_released_reservation_frees_the_cap(
    backend: LimitsBackend, caller_factory: Callable[..., Caller]
) -> None:
    service = LimitsService(backend, reserve=100)
    caller = caller_factory(cap=100)
    first = await service.admit(caller, ENDPOINT)
    assert (await service.admit(caller, ENDPOINT)).refusal == "cap_pending"
    await service.count_delivered(caller, [], first.reservation)  # e.g. the handler failed
    assert (await service.admit(caller, ENDPOINT)).admitted


async def test_a_stream_connection_holds_no_reservation(
    backend: LimitsBackend, caller_factory: Callable[..., Caller]
) -> None:
    # Streams count each batch as they deliver it; a reservation for a connection's whole life
    # would refuse the organisation's other requests until the stream ends.
    service = LimitsService(backend, reserve=100)
    caller = caller_factory(cap=100)
    stream = await service.admit(caller, ENDPOINT, reserve=False)
    assert stream.admitted and stream.reservation is None
    assert (await service.admit(caller, ENDPOINT)).admitted


async def test_usage_reports_the_cap_use_and_daily_posts_per_app(
    backend: LimitsBackend, caller_factory: Callable[..., Caller]
) -> None:
    service = LimitsService(backend)
    app_a = caller_factory(app_id=21, cap=100)
    app_b = caller_factory(app_id=22, cap=100)
    await service.count_delivered(app_a, [1, 2, 3])
    await service.count_delivered(app_b, [3, 4])
    snapshot = await service.usage(app_a, days=7)
    assert snapshot.used == 4
    assert list(snapshot.daily.values()) == [{21: 3, 22: 1}]
    assert snapshot.period_start <= time.time() < snapshot.period_end
