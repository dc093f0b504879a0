"""Counts pages: 31 days of buckets each, newest first, together covering the range exactly."""

from __future__ import annotations

import itertools
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tollhouse.api.count_pages import (
    BUCKET_MS,
    CountPage,
    buckets,
    buckets_per_page,
    count_page,
    epoch_ms,
)

DAY = 86_400_000
# 2010 .. 2030 in epoch milliseconds.
MOMENTS = st.integers(min_value=1_262_304_000_000, max_value=1_893_456_000_000)


def chain(start_ms: int, end_ms: int, bucket_ms: int) -> list[CountPage]:
    pages = [count_page(start_ms, end_ms, bucket_ms, None)]
    while pages[-1].next_end_ms is not None:
        pages.append(count_page(start_ms, end_ms, bucket_ms, pages[-1].next_end_ms))
        assert len(pages) < 10_000
    return pages


def test_page_sizes_are_xs() -> None:
    assert {g: buckets_per_page(ms) for g, ms in BUCKET_MS.items()} == {
        "minute": 44_640,
        "hour": 744,
        "day": 31,
    }


@given(
    MOMENTS,
    st.integers(min_value=1, max_value=400 * DAY),
    st.sampled_from(sorted(BUCKET_MS.values())),
)
def test_pages_cover_the_range_newest_first(start_ms: int, span_ms: int, bucket_ms: int) -> None:
    end_ms = start_ms + span_ms
    pages = chain(start_ms, end_ms, bucket_ms)
    assert pages[0].end_ms == end_ms
    assert pages[-1].start_ms == start_ms
    for newer, older in itertools.pairwise(pages):
        assert newer.next_end_ms == newer.start_ms == older.end_ms
        assert newer.start_ms % bucket_ms == 0  # no bucket is split between pages
    per_page = buckets_per_page(bucket_ms)
    first_bucket = start_ms - start_ms % bucket_ms
    n_buckets = (end_ms - 1 - first_bucket) // bucket_ms + 1
    assert len(pages) == -(-n_buckets // per_page)
    for page in pages:
        held = (page.end_ms - 1) // bucket_ms - page.start_ms // bucket_ms + 1
        assert 1 <= held <= per_page
        assert held == per_page or page is pages[-1]


@given(
    MOMENTS,
    st.integers(min_value=1, max_value=100 * DAY),
    st.sampled_from([BUCKET_MS["hour"], BUCKET_MS["day"]]),
)
def test_buckets_of_all_pages_are_contiguous_and_clipped(
    start_ms: int, span_ms: int, bucket_ms: int
) -> None:
    end_ms = start_ms + span_ms
    rows = [
        row
        for page in reversed(chain(start_ms, end_ms, bucket_ms))
        for row in buckets(page, bucket_ms, {})
    ]

    def ms(text: str) -> int:
        return epoch_ms(datetime.fromisoformat(text.replace("Z", "+00:00")))

    assert ms(rows[0]["start"]) == start_ms
    assert ms(rows[-1]["end"]) == end_ms
    for earlier, later in itertools.pairwise(rows):
        assert earlier["end"] == later["start"]
        assert ms(later["start"]) % bucket_ms == 0


@given(MOMENTS, st.integers(min_value=32 * DAY, max_value=200 * DAY), st.data())
def test_only_boundaries_inside_the_range_are_accepted(
    start_ms: int, span_ms: int, data: st.DataObject
) -> None:
    end_ms = start_ms + span_ms
    bucket_ms = BUCKET_MS["day"]
    lo, hi = start_ms - 5 * DAY, end_ms + 5 * DAY
    aligned = st.integers(min_value=lo // bucket_ms, max_value=hi // bucket_ms).map(
        lambda k: k * bucket_ms
    )
    boundary = data.draw(st.one_of(aligned, st.integers(min_value=lo, max_value=hi)))
    inside = start_ms < boundary < end_ms and boundary % bucket_ms == 0
    if inside:
        page = count_page(start_ms, end_ms, bucket_ms, boundary)
        assert page.end_ms == boundary
    else:
        with pytest.raises(ValueError):
            count_page(start_ms, end_ms, bucket_ms, boundary)


def test_an_empty_range_is_one_empty_page() -> None:
    page = count_page(5 * DAY, 5 * DAY, DAY, None)
    assert page == CountPage(5 * DAY, 5 * DAY, None)
    assert list(buckets(page, DAY, {})) == []
