"""Pagination tokens in query parameters: the first of the accepted names present, decoded; a
malformed token, or one another endpoint or query issued, is X's 400 naming the parameter.
(`api.pagination` encodes, signs and decodes them.)"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Mapping, Sequence

from starlette.requests import Request

from tollhouse.api import pagination
from tollhouse.api.problems import ApiProblem, invalid_request
from tollhouse.api.state import app_state
from tollhouse.endpoints import Endpoint
from tollhouse.settings import Settings


@functools.lru_cache(maxsize=8)
def _key(page_token_key: str, admin_token: str) -> bytes:
    if page_token_key:
        return page_token_key.encode("utf-8")
    # Every process of one deployment shares the admin token, so a key derived from it lets a
    # token issued by one gateway be read by another without a setting of its own.
    return hmac.new(admin_token.encode("utf-8"), b"tollhouse page tokens", hashlib.sha256).digest()


def signing_key(settings: Settings) -> bytes:
    """The key pagination tokens are signed with: `page_token_key`, else derived from the
    admin token (the same in every process of a deployment)."""
    return _key(settings.page_token_key, settings.admin_token)


def binding(request: Request, endpoint: Endpoint, *parts: str) -> pagination.Binding:
    """The binding of tokens `endpoint` issues for a request whose post-choosing parameters
    are `parts`."""
    return pagination.Binding.of(
        signing_key(app_state(request).settings), endpoint.template, *parts
    )


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


def page_token(
    binding: pagination.Binding, params: Mapping[str, str], *names: str
) -> pagination.PageToken | None:
    """The pagination token from the first of `names` present; a bad token, or one not issued
    for `binding`, is a 400."""
    present = _first_present(params, names)
    if present is None:
        return None
    try:
        return pagination.decode(binding, present[1])
    except ValueError:
        raise invalid_token(*present) from None


def counts_token(
    binding: pagination.Binding, params: Mapping[str, str], *names: str
) -> tuple[str, str, int] | None:
    """(parameter, raw value, page end in epoch ms) of a counts token; a bad token is a 400.

    Whether the page end lies inside the requested range is the caller's to check.
    """
    present = _first_present(params, names)
    if present is None:
        return None
    try:
        return present[0], present[1], pagination.decode_counts(binding, present[1])
    except ValueError:
        raise invalid_token(*present) from None
