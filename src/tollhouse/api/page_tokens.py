"""Pagination tokens in query parameters: the first of the accepted names present, decoded; a
malformed token is X's 400 naming the parameter. (`api.pagination` encodes and decodes them.)"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tollhouse.api import pagination
from tollhouse.api.problems import ApiProblem, invalid_request


def invalid_token(name: str, raw: str) -> ApiProblem:
    """The 400 for a pagination token that is malformed or does not fit the request."""
    return invalid_request(
        f"The `{name}` query parameter value [{raw}] is not a valid pagination token",
        {name: [raw]},
    )


def _first_present(params: Mapping[str, str], names: Sequence[str]) -> tuple[str, str] | None:
    for name in names:
        raw = params.get(name)
        if raw is not None:
            return name, raw
    return None


def page_token(params: Mapping[str, str], *names: str) -> pagination.PageToken | None:
    """The pagination token from the first of `names` present; a bad token is a 400."""
    present = _first_present(params, names)
    if present is None:
        return None
    try:
        return pagination.decode(present[1])
    except ValueError:
        raise invalid_token(*present) from None


def counts_token(params: Mapping[str, str], *names: str) -> tuple[str, str, int] | None:
    """(parameter, raw value, page end in epoch ms) of a counts token; a bad token is a 400.

    Whether the page end lies inside the requested range is the caller's to check.
    """
    present = _first_present(params, names)
    if present is None:
        return None
    try:
        return present[0], present[1], pagination.decode_counts(present[1])
    except ValueError:
        raise invalid_token(*present) from None
