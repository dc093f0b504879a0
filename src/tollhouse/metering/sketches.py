"""Distinct-post sketches: one Apache DataSketches HLL per organisation, app and UTC day.

lg_k = 12 (4096 registers, 4 KiB per HLL_8 sketch, ~12 MB for a year of 8 apps). The relative
standard error of a union is 1.04/√4096 ≈ 1.63 %, so the reported bounds at 2 standard deviations
are about ±3.3 % (DataSketches' own `get_lower_bound(2)` / `get_upper_bound(2)`, which are a
little tighter for small counts, where the sketch is exact or nearly so).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from datasketches import hll_sketch, hll_union, tgt_hll_type

LG_K = 12
TARGET = tgt_hll_type.HLL_8
# 2 standard deviations of the union estimate, as a fraction of it.
RELATIVE_ERROR_2SD = 2 * 1.04 / (1 << (LG_K // 2))
NUM_STD_DEV = 2


@dataclass(frozen=True, slots=True)
class DistinctEstimate:
    """An HLL estimate with its bounds at 2 standard deviations (≈ 95 % confidence)."""

    estimate: int
    lower: int
    upper: int

    def as_dict(self) -> dict[str, int]:
        return {"estimate": self.estimate, "lower": self.lower, "upper": self.upper}


EMPTY = DistinctEstimate(0, 0, 0)


def new_sketch() -> hll_sketch:
    return hll_sketch(LG_K, TARGET)


def sketch_of(post_ids: Iterable[int]) -> hll_sketch:
    """A sketch of `post_ids` (ints; repetition does not change it)."""
    sketch = new_sketch()
    update = sketch.update
    for post_id in post_ids:
        update(post_id)
    return sketch


def merge(stored: bytes | None, sketch: hll_sketch) -> bytes:
    """`stored` (serialized, or None) united with `sketch`, serialized for storage."""
    if stored is None:
        return bytes(sketch.serialize_compact())
    union = hll_union(LG_K)
    union.update(hll_sketch.deserialize(stored))
    union.update(sketch)
    return bytes(union.get_result(TARGET).serialize_compact())


def estimate_union(blobs: Iterable[bytes]) -> DistinctEstimate:
    """Distinct count over the union of serialized sketches, with its 2-sigma bounds."""
    union = hll_union(LG_K)
    empty = True
    for blob in blobs:
        union.update(hll_sketch.deserialize(blob))
        empty = False
    if empty:
        return EMPTY
    return DistinctEstimate(
        estimate=round(union.get_estimate()),
        lower=int(union.get_lower_bound(NUM_STD_DEV)),
        upper=-int(-union.get_upper_bound(NUM_STD_DEV) // 1),
    )
