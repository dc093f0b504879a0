"""Opaque pagination tokens: which way to go and the id to continue from.

Results are ordered by id, newest first, so a page is fully described by the id it stops at:
`next` continues with ids strictly below it, `previous` with ids strictly above. The token is
base64url (no padding) of a direction byte, the id and a one-byte check, so that a mangled token
is refused with a 400 rather than silently paging from the wrong place.
"""

from __future__ import annotations

import base64
import binascii
import struct
from dataclasses import dataclass
from typing import Literal

_LAYOUT = struct.Struct(">cqB")
_DIRECTIONS = {b"n": "next", b"p": "previous"}
_BYTES = {v: k for k, v in _DIRECTIONS.items()}


@dataclass(frozen=True, slots=True)
class PageToken:
    direction: Literal["next", "previous"]
    id: int


def _check(payload: bytes) -> int:
    return sum(payload) * 31 % 251


def encode(direction: Literal["next", "previous"], post_id: int) -> str:
    """The token for continuing past `post_id` in `direction`."""
    head = _LAYOUT.pack(_BYTES[direction], post_id, 0)[:-1]
    raw = head + bytes([_check(head)])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode(token: str) -> PageToken:
    """Parse a token from `encode`; raises ValueError for anything else."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not a pagination token") from exc
    if len(raw) != _LAYOUT.size or not token.isascii():
        raise ValueError("not a pagination token")
    kind, post_id, check = _LAYOUT.unpack(raw)
    if kind not in _DIRECTIONS or check != _check(raw[:-1]) or post_id < 0:
        raise ValueError("not a pagination token")
    direction: Literal["next", "previous"] = "next" if kind == b"n" else "previous"
    if encode(direction, post_id) != token:  # base64 has non-canonical spellings; refuse them
        raise ValueError("not a pagination token")
    return PageToken(direction, post_id)
