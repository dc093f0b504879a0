"""Ids as Tollhouse stores them: positive 64-bit integers, written as strings of ASCII digits.

Every id that enters from outside (the data API's path and query, admin routes, admin bodies,
command arguments) is parsed here once, so an id that no column can hold is refused at the edge
with a clear message instead of reaching the database.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator

from tollhouse.errors import InvalidInput

MAX_ID = (1 << 63) - 1
# The most digits a 64-bit id has; longer strings are refused before int() reads them.
MAX_ID_DIGITS = 19


class InvalidId(InvalidInput, ValueError):
    """A value that is not a positive 64-bit id (pydantic reports a ValueError as invalid)."""


def parse_id(value: Any, what: str = "id") -> int:
    """`value` (digits, or an int) as an id in 1 … 2**63 - 1; refuses bools, floats and signs."""
    if isinstance(value, bool):
        raise InvalidId(f"{what} must be a string of digits")
    if isinstance(value, int):
        number = value
    elif (
        isinstance(value, str)
        and value.isascii()
        and value.isdigit()
        and len(value) <= MAX_ID_DIGITS
    ):
        number = int(value)
    else:
        raise InvalidId(f"{what} must be a string of at most {MAX_ID_DIGITS} digits")
    if not 0 < number <= MAX_ID:
        raise InvalidId(f"{what} must be between 1 and {MAX_ID}")
    return number


Id64 = Annotated[int, BeforeValidator(parse_id)]
"""An id field or parameter of a pydantic model or a FastAPI route."""
