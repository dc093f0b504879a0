"""Access-domain errors as X-shaped Problem responses for the admin API."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tollhouse.api import problems
from tollhouse.errors import Conflict, InvalidInput, NotFound, TollhouseError

T = TypeVar("T")


def problem_for(exc: TollhouseError) -> problems.ApiProblem:
    """404 for unknown names, 409 for conflicts, 400 for invalid input."""
    if isinstance(exc, problems.ApiProblem):
        return exc
    if isinstance(exc, NotFound):
        return problems.ApiProblem(
            404,
            {
                "title": "Not Found Error",
                "type": problems.PROBLEMS + "resource-not-found",
                "status": 404,
                "detail": str(exc),
            },
        )
    if isinstance(exc, Conflict):
        return problems.ApiProblem(
            409,
            {
                "title": "Conflict",
                "type": problems.PROBLEMS + "conflict",
                "status": 409,
                "detail": str(exc),
            },
        )
    if isinstance(exc, InvalidInput):
        return problems.invalid_request(str(exc))
    return problems.ApiProblem(
        400,
        {"title": "Bad Request", "type": "about:blank", "status": 400, "detail": str(exc)},
    )


def answer(operation: Callable[[], T]) -> T:
    """Run a service operation, turning domain refusals into Problem responses."""
    try:
        return operation()
    except TollhouseError as exc:
        raise problem_for(exc) from None
