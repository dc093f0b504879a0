from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tollhouse.access.errors import InvalidPlanBook
from tollhouse.access.plans import (
    Plan,
    RateLimit,
    default_plans,
    load_plan_book,
    parse_plan_book,
    plan_from_dict,
)
from tollhouse.endpoints import TEMPLATES

FULL_ARCHIVE = "/2/tweets/search/all"
STREAM = "/2/tweets/search/stream"


def test_defaults_are_shaped_like_x_tiers() -> None:
    book = {p.name: p for p in default_plans()}
    assert list(book) == ["free", "basic", "pro", "enterprise", "pay_per_use"]
    assert book["free"].monthly_fee == 0 and book["free"].monthly_post_cap == 100
    assert book["basic"].monthly_post_cap == 15_000
    assert book["pro"].monthly_post_cap == 1_000_000 and book["pro"].monthly_fee == Decimal(5000)
    for name in ("free", "basic"):
        assert FULL_ARCHIVE not in book[name].endpoints
        assert STREAM not in book[name].endpoints
    for name in ("pro", "enterprise"):
        assert FULL_ARCHIVE in book[name].endpoints and STREAM in book[name].endpoints
    # Full-archive search has X's 1 request/second limit beside the 15-minute window.
    assert RateLimit(1, 1) in book["pro"].rate_limits[FULL_ARCHIVE]
    for plan in book.values():
        assert set(plan.rate_limits) == set(plan.endpoints)


BAD_BOOKS = {
    "not toml": ("[plans.x", "not valid TOML"),
    "no plans": ("title = 'x'", "at least one"),
    "unknown endpoint": (
        "[plans.x]\nmonthly_fee='1'\nmax_apps=1\nendpoints=['/2/nope']",
        "unknown endpoint",
    ),
    "negative fee": ("[plans.x]\nmonthly_fee='-1'\nmax_apps=1\nendpoints=[]", "non-negative"),
    "bad fee": ("[plans.x]\nmonthly_fee='lots'\nmax_apps=1\nendpoints=[]", "amount of money"),
    "zero apps": ("[plans.x]\nmonthly_fee='1'\nmax_apps=0\nendpoints=[]", "max_apps"),
    "missing field": ("[plans.x]\nmonthly_fee='1'\nendpoints=[]", "missing max_apps"),
    "unknown field": (
        "[plans.x]\nmonthly_fee='1'\nmax_apps=1\nendpoints=[]\ncolour='red'",
        "unknown field",
    ),
    "limit for missing endpoint": (
        "[plans.x]\nmonthly_fee='1'\nmax_apps=1\nendpoints=[]\n"
        "[plans.x.rate_limits]\n'/2/tweets' = {requests=1, window_seconds=900}",
        "which the plan lacks",
    ),
    "bad window": (
        "[plans.x]\nmonthly_fee='1'\nmax_apps=1\nendpoints=['/2/tweets']\n"
        "[plans.x.rate_limits]\n'/2/tweets' = {requests=1}",
        "window_seconds",
    ),
    "upper-case name": ("[plans.Pro]\nmonthly_fee='1'\nmax_apps=1\nendpoints=[]", "lower-case"),
}


@pytest.mark.parametrize("case", sorted(BAD_BOOKS))
def test_bad_books_are_refused_with_a_clear_message(case: str) -> None:
    text, message = BAD_BOOKS[case]
    with pytest.raises(InvalidPlanBook, match=message):
        parse_plan_book(text)


def test_load_plan_book_reports_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidPlanBook, match="cannot read"):
        load_plan_book(tmp_path / "missing.toml")


templates = st.sets(st.sampled_from(sorted(TEMPLATES)), max_size=len(TEMPLATES))
money = st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False)


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    endpoints = draw(templates)
    limits = {
        t: tuple(
            RateLimit(draw(st.integers(1, 10**6)), draw(st.integers(1, 86400)))
            for _ in range(draw(st.integers(1, 2)))
        )
        for t in endpoints
        if draw(st.booleans())
    }
    return Plan(
        name="p",
        monthly_fee=draw(money),
        monthly_post_cap=draw(st.none() | st.integers(0, 10**10)),
        overage_per_1k=draw(st.none() | money),
        endpoints=frozenset(endpoints),
        rate_limits=limits,
        max_apps=draw(st.integers(1, 100)),
        max_stream_rules=draw(st.integers(0, 10**5)),
        max_query_length=draw(st.integers(1, 4096)),
    )


@given(plans())
def test_plans_round_trip_through_their_stored_form(plan: Plan) -> None:
    assert plan_from_dict(plan.name, plan.to_dict()) == plan
