"""Opaque pagination tokens: which way to go and where to continue from, signed for the
endpoint and query that issued them.

Posts are ordered by id, newest first, so a page is fully described by the id it stops at:
`next` continues with ids strictly below it, `previous` with ids strictly above. Timeline
tokens also carry the token post's depth in the timeline (how many of its posts are newer),
because X serves only a timeline's newest 3,200 (or 800) posts and the depth is what tells
when to stop; counting it again on every page would cost a scan as deep as the limit.

Counts pages go back in time from the end of the range; a counts token is the time (epoch
milliseconds, a bucket boundary) the next page ends at.

A token is base64url (no padding) of a kind byte, the value(s) and a 12-byte HMAC-SHA256 tag
over the token's `Binding` scope (the endpoint and the parameters that choose its posts) and
those bytes. So a token is refused (400, as X refuses it) by another endpoint, for another
query or timeline, or when anything in it was changed: a client cannot forge a position or a
depth. Values are still range-checked by their endpoint, which costs nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from dataclasses import dataclass
from typing import Literal

_SHORT = struct.Struct(">cq")  # kind, id or time
_WITH_DEPTH = struct.Struct(">cqI")  # kind, id, depth
_TAG_BYTES = 12
_DIRECTIONS = {b"n": "next", b"p": "previous"}
_BYTES = {v: k for k, v in _DIRECTIONS.items()}
_COUNTS = b"c"


@dataclass(frozen=True, slots=True)
class PageToken:
    direction: Literal["next", "previous"]
    id: int
    # Timelines: how many posts of the timeline are newer than `id` (None in search tokens).
    depth: int | None = None


@dataclass(frozen=True, slots=True)
class Binding:
    """What a token belongs to (`scope`: an endpoint and the parameters that choose its posts)
    and the key that signs it."""

    key: bytes
    scope: bytes

    @classmethod
    def of(cls, key: bytes, endpoint: str, *parts: str) -> Binding:
        """The binding for `endpoint` with the values of its post-choosing parameters."""
        # Each part is length-prefixed, so that no two different lists spell the same scope.
        scope = b"".join(
            len(raw).to_bytes(4, "big") + raw
            for raw in (p.encode("utf-8", "surrogatepass") for p in (endpoint, *parts))
        )
        return cls(key, scope)

    def tag(self, payload: bytes) -> bytes:
        return hmac.new(self.key, self.scope + payload, hashlib.sha256).digest()[:_TAG_BYTES]


def _pack(binding: Binding, layout: struct.Struct, *values: object) -> str:
    payload = layout.pack(*values)
    raw = payload + binding.tag(payload)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unpack(binding: Binding, token: str) -> tuple[bytes, int, int | None]:
    """(kind, value, depth or None) of a token `binding` signed; ValueError for anything else."""
    if not token.isascii():
        raise ValueError("not a pagination token")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not a pagination token") from exc
    payload, tag = raw[:-_TAG_BYTES], raw[-_TAG_BYTES:]
    if len(payload) not in (_SHORT.size, _WITH_DEPTH.size):
        raise ValueError("not a pagination token")
    if not hmac.compare_digest(tag, binding.tag(payload)):
        raise ValueError("not a pagination token of this request")
    depth: int | None = None
    if len(payload) == _SHORT.size:
        kind, value = _SHORT.unpack(payload)
    else:
        kind, value, depth = _WITH_DEPTH.unpack(payload)
    if value < 0:
        raise ValueError("not a pagination token")
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != token:
        raise ValueError("not a pagination token")  # base64 has non-canonical spellings
    return kind, value, depth


def encode(
    binding: Binding,
    direction: Literal["next", "previous"],
    post_id: int,
    depth: int | None = None,
) -> str:
    """The token for continuing past `post_id` in `direction` (with its timeline depth)."""
    if depth is None:
        return _pack(binding, _SHORT, _BYTES[direction], post_id)
    return _pack(binding, _WITH_DEPTH, _BYTES[direction], post_id, depth)


def decode(binding: Binding, token: str) -> PageToken:
    """Parse a posts token `encode` made with `binding`; raises ValueError for anything else."""
    kind, post_id, depth = _unpack(binding, token)
    if kind not in _DIRECTIONS:
        raise ValueError("not a pagination token")
    direction: Literal["next", "previous"] = "next" if kind == b"n" else "previous"
    return PageToken(direction, post_id, depth)


def encode_counts(binding: Binding, page_end_ms: int) -> str:
    """The token for the counts page that ends at `page_end_ms` (epoch milliseconds)."""
    return _pack(binding, _SHORT, _COUNTS, page_end_ms)


def decode_counts(binding: Binding, token: str) -> int:
    """The page end of a token `encode_counts` made with `binding`; ValueError for anything
    else."""
    kind, page_end_ms, depth = _unpack(binding, token)
    if kind != _COUNTS or depth is not None:
        raise ValueError("not a pagination token")
    return page_end_ms
