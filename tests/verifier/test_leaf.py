"""The leaf codec: every valid leaf round-trips byte for byte; anything else is rejected."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tollhouse_verify import leaf as leaves
from tollhouse_verify.errors import FormatError
from tollhouse_verify.leaf import AdjustLeaf, CloseLeaf, UsageLeaf, ids_digest

RID = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
RID2 = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c"

uuids = st.uuids().map(str)
ids63 = st.integers(1, (1 << 63) - 1)


@st.composite
def usage_leaves(draw: st.DrawFn) -> UsageLeaf:
    posts = draw(st.integers(0, (1 << 31) - 1))
    return UsageLeaf(
        org=draw(ids63),
        rid=draw(uuids),
        time_ms=draw(st.integers(0, (1 << 63) - 1)),
        app=draw(st.none() | ids63),
        key=draw(st.none() | st.from_regex(r"[A-Za-z0-9_.-]{1,64}", fullmatch=True)),
        method=draw(st.sampled_from(["GET", "POST"])),
        route=draw(st.sampled_from(["/2/tweets/:id", "/2/tweets/search/all", "/2/users/by"])),
        status=draw(st.integers(100, 599)),
        bill=draw(st.booleans()),
        posts=posts,
        new=draw(st.integers(0, posts)),
        size_bytes=draw(st.integers(0, (1 << 63) - 1)),
        ids=None if posts == 0 else draw(st.binary(min_size=32, max_size=32)),
        user=draw(st.none() | st.text(min_size=1, max_size=200)),
    )


@given(usage_leaves())
def test_usage_leaves_round_trip(leaf: UsageLeaf) -> None:
    data = leaf.encode()
    assert leaves.parse(data) == leaf
    assert data.isascii() and b"\r" not in data


@given(
    uuids,
    uuids,
    st.integers(-1, 1),
    st.integers(-(1 << 31) + 1, (1 << 31) - 1),
    st.integers(-1000, 1000),
    st.integers(-(1 << 62), 1 << 62),
)
def test_adjust_leaves_round_trip(
    rid: str, ref: str, bill: int, posts: int, new: int, size: int
) -> None:
    if rid == ref:
        return
    leaf = AdjustLeaf(7, rid, 1, ref, "duplicate_delivery", bill, posts, new, size)
    assert leaves.parse(leaf.encode()) == leaf


@given(st.integers(0, 10**6), st.integers(0, 10**6), st.data())
def test_close_leaves_round_trip(start: int, width: int, data: st.DataObject) -> None:
    requests = data.draw(st.integers(0, width))
    posts = data.draw(st.integers(0, 10**9))
    leaf = CloseLeaf(
        org=3, day=date(2026, 12, 2), start=start, end=start + width, requests=requests,
        billable=data.draw(st.integers(0, requests)), posts=posts,
        new=data.draw(st.integers(0, posts)), size_bytes=data.draw(st.integers(0, 10**12)),
        late=data.draw(st.integers(0, requests)), rule=leaves.COUNTING_RULE,
        pricebook_id="plans", pricebook_hash=b"\x11" * 32,
    )  # fmt: skip
    assert leaves.parse(leaf.encode()) == leaf


GOOD = UsageLeaf(
    org=7, rid=RID, time_ms=1764700000123, app=12, key="k_1", method="GET",
    route="/2/tweets/:id", status=200, bill=True, posts=3, new=2, size_bytes=4821,
    ids=ids_digest([3, 1, 2]), user="Agence Ä%",
)  # fmt: skip


def test_the_encoding_is_fixed() -> None:
    text = GOOD.encode().decode()
    assert text.splitlines()[:3] == ["tollhouse.usage/v1", "org 7", f"rid {RID}"]
    assert "route GET /2/tweets/:id\n" in text
    assert text.endswith("user Agence%20%C3%84%25\n")
    assert ids_digest([1, 2, 3]) == ids_digest([3, 2, 1]) != ids_digest([1, 2])
    assert ids_digest([]) is None


def _replace(text: str, old: str, new: str) -> bytes:
    assert old in text
    return text.replace(old, new, 1).encode()


GOOD_TEXT = GOOD.encode().decode()


@pytest.mark.parametrize(
    "data",
    [
        _replace(GOOD_TEXT, "org 7\n", "org 07\n"),  # leading zero
        _replace(GOOD_TEXT, "org 7\n", "org 7 \n"),  # trailing space
        _replace(GOOD_TEXT, "org 7\n", "org 0\n"),  # out of bounds
        _replace(GOOD_TEXT, "org 7\n", ""),  # missing
        _replace(GOOD_TEXT, "org 7\n", "org 7\norg 7\n"),  # repeated
        _replace(GOOD_TEXT, "org 7\n", "org 7\ncolour red\n"),  # unknown key
        _replace(GOOD_TEXT, f"org 7\nrid {RID}\n", f"rid {RID}\norg 7\n"),  # out of order
        _replace(GOOD_TEXT, "new 2", "new 4"),  # new > posts
        _replace(GOOD_TEXT, "posts 3", "posts 9223372036854775808"),  # above 2**63
        _replace(GOOD_TEXT, "bytes 4821", "bytes -1"),
        _replace(GOOD_TEXT, "status 200", "status 99"),
        _replace(GOOD_TEXT, "bill 1", "bill 2"),
        _replace(GOOD_TEXT, RID, RID.upper()),
        _replace(GOOD_TEXT, "usage/v1", "usage/v2"),
        _replace(GOOD_TEXT, "\n", "\r\n"),
        _replace(GOOD_TEXT, "%20", "%2a"),  # lower-case escape
        _replace(GOOD_TEXT, "%20", "%41"),  # escape of a byte that needs none
        _replace(GOOD_TEXT, "route GET /2", "route get /2"),
        GOOD_TEXT.encode()[:-1],  # no final newline
        GOOD_TEXT.encode() + b"\n",
        b"",
        b"\xff",
    ],
)
def test_non_canonical_or_out_of_bounds_leaves_are_rejected(data: bytes) -> None:
    with pytest.raises(FormatError):
        leaves.parse(data)


def test_ids_is_dash_exactly_when_nothing_was_delivered() -> None:
    with pytest.raises(FormatError):
        leaves.parse(_replace(GOOD_TEXT, "posts 3\nnew 2", "posts 0\nnew 0"))


def test_close_and_adjust_bounds() -> None:
    close = CloseLeaf(3, date(2026, 12, 2), 10, 20, 10, 9, 5, 5, 100, 0, "tollhouse.count/v1",
                      "plans", b"\x01" * 32)  # fmt: skip
    text = close.encode().decode()
    for old, new in (("range 10 20", "range 20 10"), ("requests 10", "requests 11"),
                     ("billable 9", "billable 11"), ("new 5", "new 6"),
                     ("day 2026-12-02", "day 2026-13-02")):  # fmt: skip
        with pytest.raises(FormatError):
            leaves.parse(_replace(text, old, new))
    adjust = AdjustLeaf(3, RID, 5, RID2, "refund", -1, -3, -2, -100).encode().decode()
    assert leaves.parse(adjust.encode()).bill == -1  # type: ignore[union-attr]
    mutations = [
        ("bill -1", "bill -2"),
        ("posts -3", "posts -0"),
        (f"ref {RID2}", f"ref {RID}"),
        ("reason refund", "reason Refund"),
    ]
    for old, new in mutations:
        with pytest.raises(FormatError):
            leaves.parse(_replace(adjust, old, new))
