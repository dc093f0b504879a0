"""How X pages post counts: 31 days of buckets per response, newest page first.

X's full-archive counts answer at most 31 days per page (31 `day`, 744 `hour` or 44,640
`minute` buckets) and hand out `meta.next_token` for the older rest; recent counts span 7 days,
so they always fit in one page. Within a page buckets run oldest first; the pages themselves go
back in time from the end of the range, and the last page is the one whose first bucket starts
at `start_time` (twarc2 checks exactly that to decide that it has everything).

Buckets are aligned to the granularity (UTC); the first and last bucket of the range are
clipped to [start, end). Page boundaries fall on bucket boundaries, so no bucket is split
between two pages.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tollhouse.api.render import format_time

PAGE_DAYS = 31
BUCKET_MS = {"minute": 60_000, "hour": 3_600_000, "day": 86_400_000}
_DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class CountPage:
    """The part [start_ms, end_ms) of the range one response covers, and where the next
    (older) page ends, if there is one."""

    start_ms: int
    end_ms: int
    next_end_ms: int | None


def buckets_per_page(bucket_ms: int) -> int:
    return PAGE_DAYS * _DAY_MS // bucket_ms


def count_page(start_ms: int, end_ms: int, bucket_ms: int, page_end_ms: int | None) -> CountPage:
    """The page of [start_ms, end_ms) that ends at `page_end_ms` (None: the first page, which
    ends at `end_ms`).

    Raises ValueError when `page_end_ms` cannot have come from an earlier page of this range
    (not strictly inside it, or not on a bucket boundary): a token for another request.
    """
    if page_end_ms is not None and (not start_ms < page_end_ms < end_ms or page_end_ms % bucket_ms):
        raise ValueError("the page end is not a bucket boundary inside the range")
    stop = end_ms if page_end_ms is None else page_end_ms
    if stop <= start_ms:
        return CountPage(start_ms, start_ms, None)
    last_bucket = (stop - 1) // bucket_ms * bucket_ms
    first_bucket = last_bucket - (buckets_per_page(bucket_ms) - 1) * bucket_ms
    if first_bucket > start_ms:
        return CountPage(first_bucket, stop, first_bucket)
    return CountPage(start_ms, stop, None)


def buckets(page: CountPage, bucket_ms: int, counts: dict[int, int]) -> Iterator[dict[str, Any]]:
    """The page's buckets, oldest first, empty ones included with a zero count. `counts` maps
    aligned bucket starts (epoch ms) to post counts."""
    cursor = page.start_ms - page.start_ms % bucket_ms
    while cursor < page.end_ms:
        nxt = cursor + bucket_ms
        yield {
            "end": format_time(_from_ms(min(nxt, page.end_ms))),
            "start": format_time(_from_ms(max(cursor, page.start_ms))),
            "tweet_count": counts.get(cursor, 0),
        }
        cursor = nxt


def epoch_ms(moment: datetime) -> int:
    """`moment` in whole epoch milliseconds (exactly: no float rounding)."""
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def _from_ms(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
