"""The Problem bodies keep their exact bytes (key order included), whichever constructor or
mapping builds them."""

from __future__ import annotations

import orjson
import pytest

from tollhouse.access.errors import DuplicateName, UnknownName
from tollhouse.api import problems
from tollhouse.errors import InvalidInput, TollhouseError

X = "https://api.twitter.com/2/problems/"


def _bytes(problem: problems.ApiProblem) -> tuple[int, bytes]:
    return problem.status, orjson.dumps(problem.body)


@pytest.mark.parametrize(
    ("problem", "status", "body"),
    [
        (
            problems.unauthorized(),
            401,
            {
                "title": "Unauthorized",
                "type": "about:blank",
                "status": 401,
                "detail": "Unauthorized",
            },
        ),
        (
            problems.not_found_route(),
            404,
            {"title": "Not Found", "type": "about:blank", "status": 404, "detail": "Not Found"},
        ),
        (
            problems.method_not_allowed(),
            405,
            {
                "title": "Method Not Allowed",
                "type": "about:blank",
                "status": 405,
                "detail": "Method Not Allowed",
            },
        ),
        (
            problems.metering_unavailable(),
            503,
            {
                "title": "Service Unavailable",
                "type": "about:blank",
                "status": 503,
                "detail": "Usage metering is unavailable; retry shortly.",
            },
        ),
        (
            problems.problem_for(UnknownName("no organisation 'x'")),
            404,
            {
                "title": "Not Found Error",
                "type": X + "resource-not-found",
                "status": 404,
                "detail": "no organisation 'x'",
            },
        ),
        (
            problems.problem_for(DuplicateName("taken")),
            409,
            {"title": "Conflict", "type": X + "conflict", "status": 409, "detail": "taken"},
        ),
        (
            problems.problem_for(TollhouseError("odd")),
            400,
            {"title": "Bad Request", "type": "about:blank", "status": 400, "detail": "odd"},
        ),
    ],
)
def test_problem_bodies_keep_their_bytes(
    problem: problems.ApiProblem, status: int, body: dict[str, object]
) -> None:
    assert _bytes(problem) == (status, orjson.dumps(body))


def test_invalid_input_maps_to_x_invalid_request() -> None:
    assert _bytes(problems.problem_for(InvalidInput("bad"))) == _bytes(
        problems.invalid_request("bad")
    )


def test_answer_raises_the_mapped_problem() -> None:
    def refuse() -> None:
        raise UnknownName("gone")

    with pytest.raises(problems.ApiProblem) as raised:
        problems.answer(refuse)
    assert raised.value.status == 404
