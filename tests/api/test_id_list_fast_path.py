"""`id_list` takes a one-regex path for clean lists; whatever the input, it answers exactly what
checking each value on its own answers (the same ids, or the same 400 naming the same value)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tollhouse.api import params as p
from tollhouse.api.problems import ApiProblem


def one_by_one(raw: str, limit: int) -> list[int] | tuple[int, object]:
    try:
        values = p._bounded_list({"ids": raw}, "ids", 1, limit)
        return list(dict.fromkeys(p.parse_id(v, "ids") for v in values))
    except ApiProblem as exc:
        return (exc.status, exc.body)


def fast(raw: str, limit: int) -> list[int] | tuple[int, object]:
    try:
        return p.id_list({"ids": raw}, limit=limit)
    except ApiProblem as exc:
        return (exc.status, exc.body)


ID = st.one_of(
    st.integers(min_value=0, max_value=(1 << 64)).map(str),
    st.sampled_from(["", "0", "00012", "9223372036854775807", "9223372036854775808", "1e3"]),
    st.text(alphabet="0123456789 -+\\n,", max_size=6),
)


@given(values=st.lists(ID, min_size=0, max_size=8), limit=st.sampled_from([1, 3, 100]))
def test_fast_path_answers_like_the_checked_path(values: list[str], limit: int) -> None:
    raw = ",".join(values)
    assert fast(raw, limit) == one_by_one(raw, limit)
