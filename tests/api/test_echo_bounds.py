"""A refusal names the bad value but never repeats it whole (a 10 MB value, 10 000 ids)."""

from __future__ import annotations

import orjson
from hypothesis import given
from hypothesis import strategies as st

from tests.api.conftest import Api
from tollhouse.api import problems


def test_ten_thousand_ids_are_not_echoed_back(api: Api) -> None:
    ids = ",".join(str(i) for i in range(1, 10_001))
    response = api.client.get("/2/tweets?ids=" + ids)
    assert response.status_code == 400
    assert len(response.content) < 3 * problems.MAX_TEXT
    error = response.json()["errors"][0]
    assert "is not between 1 and 100" in error["message"]
    assert error["parameters"]["ids"][0].startswith(ids[: problems.MAX_ECHO])
    assert f"({len(ids)} characters)" in error["parameters"]["ids"][0]


@given(st.text(min_size=0, max_size=3000), st.lists(st.text(max_size=400), max_size=30))
def test_a_problem_body_is_bounded_whatever_it_is_given(message: str, values: list[str]) -> None:
    problem = problems.invalid_request(f"The value [{message}] is wrong", {"name": values})
    error = problem.body["errors"][0]
    assert len(error["message"]) <= problems.MAX_TEXT + 30
    assert len(error["parameters"]["name"]) == min(len(values), problems.MAX_VALUES)
    for shown, value in zip(error["parameters"]["name"], values, strict=False):
        assert (
            shown == value
            if len(value) <= problems.MAX_ECHO
            else shown.startswith(value[: problems.MAX_ECHO])
        )
    assert len(orjson.dumps(problem.body)) < 10 * problems.MAX_TEXT
