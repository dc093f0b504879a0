"""UUIDv7 request ids: layout, time order, and the floor used for retention."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from tollhouse.metering.ids import uuid7, uuid7_floor, uuid7_unix_ms

_MS = st.integers(0, (1 << 48) - 1)


@given(_MS)
def test_layout_is_rfc_9562_version_7(ms: int) -> None:
    value = uuid.UUID(uuid7(ms))
    assert value.version == 7
    assert value.variant == uuid.RFC_4122
    assert uuid7_unix_ms(str(value)) == ms


@given(_MS, _MS)
def test_ids_sort_by_time_and_the_floor_bounds_them(a: int, b: int) -> None:
    if a < b:
        assert uuid7(a) < uuid7(b)
    assert uuid7_floor(a) <= uuid7(a)
    assert (uuid7(a) < uuid7_floor(b)) == (a < b)


def test_ids_are_unique_within_a_millisecond() -> None:
    ids = {uuid7(1_700_000_000_000) for _ in range(10_000)}
    assert len(ids) == 10_000
