"""The one error the query language raises."""

from __future__ import annotations

from tollhouse.errors import InvalidInput


class QuerySyntaxError(InvalidInput):
    """A query that cannot be parsed; `position` is the 0-based character offset of the problem.

    The message always names the position, so that it can be shown to a developer as it is.
    """

    def __init__(self, message: str, position: int, details: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        # X lists each problem of a stream rule separately; one message joins them for search.
        self.details = details or (message,)

    def __str__(self) -> str:
        return self.message
