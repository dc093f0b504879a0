"""Opaque pagination tokens: which way to go and where to continue from.

Posts are ordered by id, newest first, so a page is fully described by the id it stops at:
`next` continues with ids strictly below it, `previous` with ids strictly above. Timeline
tokens also carry the token post's depth in the timeline (how many of its posts are newer),
because X serves only a timeline's newest 3,200 (or 800) posts and the depth is what tells
when to stop; counting it again on every page would cost a scan as deep as the limit.

Counts pages go back in time from the end of the range; a counts token is the time (epoch
milliseconds, a bucket boundary) the next page ends at.

A token is base64url (no padding) of a kind byte, the value(s) and a one-byte check, so that a
mangled token is refused with a 400 rather than silently paging from the wrong place. The check
is not a signature: a client can forge a well-formed token, so every value read from one is
range-checked by its endpoint, and a forged depth gains nothing that full-archive search with
`until_id` does not already serve.
"""

from __future__ import annotations

import base64
import binascii
import struct
from dataclasses import dataclass
from typing import Literal

_SHORT = struct.Struct(">cqB")  # kind, id or time, check
_WITH_DEPTH = struct.Struct(">cqIB")  # kind, id, depth, check
_DIRECTIONS = {b"n": "next", b"p": "previous"}
_BYTES = {v: k for k, v in _DIRECTIONS.items()}
_COUNTS = b"c"


@dataclass(frozen=True, slots=True)
class PageToken:
    direction: Literal["next", "previous"]
    id: int
    # Timelines: how many posts of the timeline are newer than `id` (None in search tokens).
    depth: int | None = None


def _check(payload: bytes) -> int:
    return sum(payload) * 31 % 251


def _pack(layout: struct.Struct, *values: object) -> str:
    head = layout.pack(*values, 0)[:-1]
    raw = head + bytes([_check(head)])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unpack(token: str) -> tuple[bytes, int, int | None]:
    """(kind, value, depth or None) of any well-formed token; ValueError for anything else."""
    if not token.isascii():
        raise ValueError("not a pagination token")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not a pagination token") from exc
    depth: int | None = None
    if len(raw) == _SHORT.size:
        kind, value, check = _SHORT.unpack(raw)
    elif len(raw) == _WITH_DEPTH.size:
        kind, value, depth, check = _WITH_DEPTH.unpack(raw)
    else:
        raise ValueError("not a pagination token")
    if check != _check(raw[:-1]) or value < 0:
        raise ValueError("not a pagination token")
    layout = _SHORT if depth is None else _WITH_DEPTH
    values = (kind, value) if depth is None else (kind, value, depth)
    if _pack(layout, *values) != token:  # base64 has non-canonical spellings; refuse them
        raise ValueError("not a pagination token")
    return kind, value, depth


def encode(direction: Literal["next", "previous"], post_id: int, depth: int | None = None) -> str:
    """The token for continuing past `post_id` in `direction` (with its timeline depth)."""
    if depth is None:
        return _pack(_SHORT, _BYTES[direction], post_id)
    return _pack(_WITH_DEPTH, _BYTES[direction], post_id, depth)


def decode(token: str) -> PageToken:
    """Parse a posts token from `encode`; raises ValueError for anything else."""
    kind, post_id, depth = _unpack(token)
    if kind not in _DIRECTIONS:
        raise ValueError("not a pagination token")
    direction: Literal["next", "previous"] = "next" if kind == b"n" else "previous"
    return PageToken(direction, post_id, depth)


def encode_counts(page_end_ms: int) -> str:
    """The token for the counts page that ends at `page_end_ms` (epoch milliseconds)."""
    return _pack(_SHORT, _COUNTS, page_end_ms)


def decode_counts(token: str) -> int:
    """The page end of a token from `encode_counts`; raises ValueError for anything else."""
    kind, page_end_ms, depth = _unpack(token)
    if kind != _COUNTS or depth is not None:
        raise ValueError("not a pagination token")
    return page_end_ms
