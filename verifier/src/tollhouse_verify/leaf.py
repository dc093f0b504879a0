"""The log's entries: canonical ASCII leaves, one `key value` per line in a fixed order.

    tollhouse.usage/v1          one per usage event (what a response used)
    tollhouse.adjust/v1         a correction of an earlier usage leaf, by bounded deltas
    tollhouse.close/v1          the totals of a UTC day's index range

Exactly one encoding per value: decimals without leading zeros, base64 canonical, `-` for
"none", percent-encoding only where a byte is not printable ASCII (or is `%`). The parser takes
only that encoding and rejects unknown, missing, repeated or out-of-order keys and values out of
bounds, so a leaf's bytes — and therefore its hash — follow from its facts alone.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date
from hashlib import sha256
from typing import Any, ClassVar

from tollhouse_verify.errors import FormatError

MAX_INT = (1 << 63) - 1
MAX_POSTS = (1 << 31) - 1
MAX_LEAF_BYTES = 4096
COUNTING_RULE = "tollhouse.count/v1"

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
_KEY_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}\Z")
_TOKEN = re.compile(r"[a-z0-9_.:/-]{1,64}\Z")
_METHOD = re.compile(r"[A-Z]{1,8}\Z")
_PATH = re.compile(r"/[\x21-\x7e]{0,199}\Z")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}\Z")


def _nat(text: str, what: str, hi: int = MAX_INT) -> int:
    if not text.isascii() or not text.isdigit() or (len(text) > 1 and text[0] == "0"):
        raise FormatError(f"`{what}` is a decimal without leading zeros: {text[:30]!r}")
    value = int(text)
    if value > hi:
        raise FormatError(f"`{what}` is above {hi}")
    return value


def _signed(text: str, what: str, bound: int = MAX_POSTS) -> int:
    negative = text.startswith("-") and text != "-0"
    value = _nat(text[1:] if negative else text, what, bound)
    return -value if negative else value


def _opt_nat(text: str, what: str) -> int | None:
    return None if text == "-" else _nat(text, what)


def _fmt_opt(value: object) -> str:
    return "-" if value is None else str(value)


def encode_text(value: str) -> str:
    """Percent-encode every byte that is not printable ASCII, and `%` itself."""
    out = []
    for byte in value.encode("utf-8"):
        if 0x21 <= byte <= 0x7E and byte != 0x25:
            out.append(chr(byte))
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def decode_text(text: str, what: str) -> str:
    raw = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c == "%":
            hex_ = text[i + 1 : i + 3]
            if len(hex_) != 2 or hex_ != hex_.upper() or not re.fullmatch(r"[0-9A-F]{2}", hex_):
                raise FormatError(f"`{what}` has a bad %-escape")
            raw.append(int(hex_, 16))
            i += 3
        elif "\x21" <= c <= "\x7e":
            raw.append(ord(c))
            i += 1
        else:
            raise FormatError(f"`{what}` is printable ASCII")
    try:
        value = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"`{what}` is not UTF-8") from exc
    if encode_text(value) != text:
        raise FormatError(f"`{what}` is not canonically encoded")
    return value


def ids_digest(post_ids: Iterable[int]) -> bytes | None:
    """SHA-256 of the delivered post ids sorted numerically (repeats kept), each as an 8-byte
    big-endian unsigned integer; None when none were delivered."""
    ids = sorted(post_ids)
    if not ids:
        return None
    return sha256(struct.pack(f">{len(ids)}Q", *ids)).digest()


def encode_usage(
    org: int,
    rid: str,
    time_ms: int,
    app: int | None,
    key: str | None,
    method: str,
    route: str,
    status: int,
    bill: bool,
    posts: int,
    new: int,
    size: int,
    ids: bytes | None,
    user: str | None,
) -> bytes:
    """A usage leaf's bytes from values already in bounds (the server's ingest path: one
    format call, no checks; `UsageLeaf` checks, then encodes through here)."""
    return (
        f"tollhouse.usage/v1\norg {org}\nrid {rid}\ntime {time_ms}\n"
        f"app {'-' if app is None else app}\nkey {'-' if key is None else key}\n"
        f"route {method} {route}\nstatus {status}\nbill {1 if bill else 0}\n"
        f"posts {posts}\nnew {new}\nbytes {size}\n"
        f"ids {'-' if ids is None else base64.b64encode(ids).decode()}\n"
        f"user {'-' if user is None else encode_text(user)}\n"
    ).encode("ascii")


def _b64_hash(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FormatError(f"`{what}` is base64") from exc
    if len(raw) != 32 or base64.b64encode(raw).decode() != text:
        raise FormatError(f"`{what}` is a canonical base64 SHA-256")
    return raw


def _lines(text: str, header: str, keys: tuple[str, ...]) -> list[str]:
    if not text.endswith("\n"):
        raise FormatError("a leaf ends with a newline")
    lines = text[:-1].split("\n")
    if lines[0] != header:
        raise FormatError(f"not a {header} leaf")
    body = lines[1:]
    values = []
    for i, line in enumerate(body):
        key, sep, value = line.partition(" ")
        if not sep or not value:
            raise FormatError(f"not a `key value` line: {line[:40]!r}")
        if i >= len(keys) or key != keys[i]:
            if key in keys:
                raise FormatError(f"`{key}` is repeated or out of order")
            raise FormatError(f"unknown key `{key[:20]}`")
        values.append(value)
    if len(values) != len(keys):
        raise FormatError(f"missing `{keys[len(values)]}`")
    return values


@dataclass(frozen=True, slots=True)
class UsageLeaf:
    """One usage event, as the licensee can check it against its own record."""

    HEADER: ClassVar[str] = "tollhouse.usage/v1"
    KEYS: ClassVar[tuple[str, ...]] = (
        "org", "rid", "time", "app", "key", "route", "status", "bill", "posts", "new", "bytes",
        "ids", "user",
    )  # fmt: skip

    org: int
    rid: str
    time_ms: int
    app: int | None
    key: str | None
    method: str
    route: str
    status: int
    bill: bool
    posts: int
    new: int
    size_bytes: int
    ids: bytes | None
    user: str | None

    def __post_init__(self) -> None:
        _check_usage(self)

    def encode(self) -> bytes:
        return encode_usage(
            self.org, self.rid, self.time_ms, self.app, self.key, self.method, self.route,
            self.status, self.bill, self.posts, self.new, self.size_bytes, self.ids, self.user,
        )  # fmt: skip

    @classmethod
    def parse_text(cls, text: str) -> UsageLeaf:
        v = _lines(text, cls.HEADER, cls.KEYS)
        method, sep, route = v[5].partition(" ")
        if not sep:
            raise FormatError("`route` is `METHOD /path`")
        if v[7] not in ("0", "1"):
            raise FormatError("`bill` is 0 or 1")
        return cls(
            org=_nat(v[0], "org"),
            rid=v[1],
            time_ms=_nat(v[2], "time"),
            app=_opt_nat(v[3], "app"),
            key=None if v[4] == "-" else v[4],
            method=method,
            route=route,
            status=_nat(v[6], "status", 999),
            bill=v[7] == "1",
            posts=_nat(v[8], "posts", MAX_POSTS),
            new=_nat(v[9], "new", MAX_POSTS),
            size_bytes=_nat(v[10], "bytes"),
            ids=None if v[11] == "-" else _b64_hash(v[11], "ids"),
            user=None if v[12] == "-" else decode_text(v[12], "user"),
        )


def _check_usage(leaf: UsageLeaf) -> None:
    if not 1 <= leaf.org <= MAX_INT:
        raise FormatError("`org` is a positive 63-bit id")
    if not _UUID.match(leaf.rid):
        raise FormatError("`rid` is a lower-case UUID")
    if not 0 <= leaf.time_ms <= MAX_INT:
        raise FormatError("`time` is Unix milliseconds")
    if leaf.app is not None and not 1 <= leaf.app <= MAX_INT:
        raise FormatError("`app` is a positive 63-bit id")
    if leaf.key is not None and not _KEY_ID.match(leaf.key):
        raise FormatError("`key` is a key id")
    if not _METHOD.match(leaf.method) or not _PATH.match(leaf.route):
        raise FormatError("`route` is `METHOD /path`")
    if not 100 <= leaf.status <= 599:
        raise FormatError("`status` is an HTTP status")
    if not 0 <= leaf.posts <= MAX_POSTS or not 0 <= leaf.new <= leaf.posts:
        raise FormatError("0 ≤ `new` ≤ `posts` ≤ 2**31-1")
    if not 0 <= leaf.size_bytes <= MAX_INT:
        raise FormatError("`bytes` is 0 to 2**63-1")
    if (leaf.ids is None) != (leaf.posts == 0):
        raise FormatError("`ids` is `-` exactly when no posts were delivered")
    if leaf.ids is not None and len(leaf.ids) != 32:
        raise FormatError("`ids` is a SHA-256")
    if leaf.user is not None and (not leaf.user or len(leaf.user) > 200):
        raise FormatError("`user` is 1 to 200 characters")


@dataclass(frozen=True, slots=True)
class AdjustLeaf:
    """A correction of usage leaf `ref`: signed deltas, bounded by that leaf when checked."""

    HEADER: ClassVar[str] = "tollhouse.adjust/v1"
    KEYS: ClassVar[tuple[str, ...]] = ("org", "rid", "time", "ref", "reason", "bill", "posts",
                                       "new", "bytes")  # fmt: skip

    org: int
    rid: str
    time_ms: int
    ref: str
    reason: str
    bill: int
    posts: int
    new: int
    size_bytes: int

    def __post_init__(self) -> None:
        if not 1 <= self.org <= MAX_INT or not 0 <= self.time_ms <= MAX_INT:
            raise FormatError("`org` and `time` are positive 63-bit numbers")
        if not _UUID.match(self.rid) or not _UUID.match(self.ref) or self.rid == self.ref:
            raise FormatError("`rid` and `ref` are two lower-case UUIDs")
        if not _TOKEN.match(self.reason):
            raise FormatError("`reason` is a short lower-case token")
        if self.bill not in (-1, 0, 1):
            raise FormatError("`bill` is -1, 0 or 1")
        if not all(abs(d) <= MAX_POSTS for d in (self.posts, self.new)):
            raise FormatError("deltas are at most 2**31-1")
        if abs(self.size_bytes) > MAX_INT:
            raise FormatError("`bytes` is at most 2**63-1")

    def encode(self) -> bytes:
        lines = [
            self.HEADER,
            f"org {self.org}",
            f"rid {self.rid}",
            f"time {self.time_ms}",
            f"ref {self.ref}",
            f"reason {self.reason}",
            f"bill {self.bill}",
            f"posts {self.posts}",
            f"new {self.new}",
            f"bytes {self.size_bytes}",
        ]
        return ("\n".join(lines) + "\n").encode("ascii")

    @classmethod
    def parse_text(cls, text: str) -> AdjustLeaf:
        v = _lines(text, cls.HEADER, cls.KEYS)
        return cls(
            org=_nat(v[0], "org"),
            rid=v[1],
            time_ms=_nat(v[2], "time"),
            ref=v[3],
            reason=v[4],
            bill=_signed(v[5], "bill", 1),
            posts=_signed(v[6], "posts"),
            new=_signed(v[7], "new"),
            size_bytes=_signed(v[8], "bytes", MAX_INT),
        )


@dataclass(frozen=True, slots=True)
class CloseLeaf:
    """A UTC day's close: the totals of every usage and adjustment leaf in [start, end)."""

    HEADER: ClassVar[str] = "tollhouse.close/v1"
    KEYS: ClassVar[tuple[str, ...]] = ("org", "day", "range", "requests", "billable", "posts",
                                       "new", "bytes", "late", "rule", "pricebook")  # fmt: skip

    org: int
    day: date
    start: int
    end: int
    requests: int
    billable: int
    posts: int
    new: int
    size_bytes: int
    late: int
    rule: str
    pricebook_id: str
    pricebook_hash: bytes

    def __post_init__(self) -> None:
        if not 1 <= self.org <= MAX_INT:
            raise FormatError("`org` is a positive 63-bit id")
        if not 0 <= self.start <= self.end <= MAX_INT:
            raise FormatError("`range` is two indices a ≤ b")
        for name in ("requests", "billable", "posts", "new", "size_bytes", "late"):
            if not 0 <= getattr(self, name) <= MAX_INT:
                raise FormatError(f"`{name}` is 0 to 2**63-1")
        if self.billable > self.requests or self.new > self.posts or self.late > self.requests:
            raise FormatError("billable ≤ requests and new ≤ posts")
        if self.requests > self.end - self.start:
            raise FormatError("a close counts at most one request per index of its range")
        if not _TOKEN.match(self.rule) or not _TOKEN.match(self.pricebook_id):
            raise FormatError("`rule` and the price book's id are short tokens")
        if len(self.pricebook_hash) != 32:
            raise FormatError("the price book's hash is a SHA-256")

    def encode(self) -> bytes:
        lines = [
            self.HEADER,
            f"org {self.org}",
            f"day {self.day.isoformat()}",
            f"range {self.start} {self.end}",
            f"requests {self.requests}",
            f"billable {self.billable}",
            f"posts {self.posts}",
            f"new {self.new}",
            f"bytes {self.size_bytes}",
            f"late {self.late}",
            f"rule {self.rule}",
            f"pricebook {self.pricebook_id} {base64.b64encode(self.pricebook_hash).decode()}",
        ]
        return ("\n".join(lines) + "\n").encode("ascii")

    @classmethod
    def parse_text(cls, text: str) -> CloseLeaf:
        v = _lines(text, cls.HEADER, cls.KEYS)
        if not _DAY.match(v[1]):
            raise FormatError("`day` is YYYY-MM-DD")
        try:
            day = date.fromisoformat(v[1])
        except ValueError as exc:
            raise FormatError("`day` is a calendar date") from exc
        start, sep, end = v[2].partition(" ")
        book, sep2, digest = v[10].partition(" ")
        if not sep or not sep2:
            raise FormatError("`range` is `a b`, `pricebook` is `id hash`")
        return cls(
            org=_nat(v[0], "org"),
            day=day,
            start=_nat(start, "range"),
            end=_nat(end, "range"),
            requests=_nat(v[3], "requests"),
            billable=_nat(v[4], "billable"),
            posts=_nat(v[5], "posts"),
            new=_nat(v[6], "new"),
            size_bytes=_nat(v[7], "bytes"),
            late=_nat(v[8], "late"),
            rule=v[9],
            pricebook_id=book,
            pricebook_hash=_b64_hash(digest, "pricebook"),
        )


_NAT = r"(0|[1-9][0-9]{0,18})"
# The canonical form of a usage leaf in one pattern: what a verifier meets millions of times a
# day is matched once, then only the bounds a pattern cannot say are checked (UsageLeaf).
_USAGE_FAST = re.compile(
    rf"tollhouse\.usage/v1\norg {_NAT}\nrid ([0-9a-f]{{8}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-"
    rf"[0-9a-f]{{4}}-[0-9a-f]{{12}})\ntime {_NAT}\napp (-|[1-9][0-9]{{0,18}})\n"
    rf"key (-|[A-Za-z0-9_.-]{{1,64}})\nroute ([A-Z]{{1,8}}) (/[\x21-\x7e]{{0,199}})\n"
    rf"status ([1-5][0-9][0-9])\nbill ([01])\nposts {_NAT}\nnew {_NAT}\nbytes {_NAT}\n"
    rf"ids (-|[A-Za-z0-9+/]{{42}}[AEIMQUYcgkosw048]=)\nuser (-|[\x21-\x24\x26-\x7e]+)\n"
)


_USAGE_FIELDS = ("org", "rid", "time_ms", "app", "key", "method", "route", "status", "bill",
                 "posts", "new", "size_bytes", "ids", "user")  # fmt: skip


def _parse_usage_fast(text: str) -> UsageLeaf | None:
    """The leaf if `text` is a canonical usage leaf with a plain (unescaped) end user."""
    m = _USAGE_FAST.fullmatch(text)
    if m is None:
        return None
    org, rid, at, app, key, method, route, status, bill, posts, new, size, ids, user = m.groups()
    values = (
        int(org), rid, int(at), None if app == "-" else int(app), None if key == "-" else key,
        method, route, int(status), bill == "1", int(posts), int(new), int(size),
        None if ids == "-" else base64.b64decode(ids), None if user == "-" else user,
    )  # fmt: skip
    # What the pattern cannot say; the rest of `_check_usage` it already did.
    n_org, _, n_at, n_app, _, _, _, _, _, n_posts, n_new, n_size, raw_ids, text_user = values
    if (
        not 1 <= n_org <= MAX_INT
        or n_at > MAX_INT
        or (n_app is not None and n_app > MAX_INT)
        or n_posts > MAX_POSTS
        or n_new > n_posts
        or n_size > MAX_INT
        or (raw_ids is None) != (n_posts == 0)
        or (text_user is not None and len(text_user) > 200)
    ):
        return None
    leaf = object.__new__(UsageLeaf)
    for name, value in zip(_USAGE_FIELDS, values, strict=True):
        object.__setattr__(leaf, name, value)
    return leaf


Leaf = UsageLeaf | AdjustLeaf | CloseLeaf
_KINDS: dict[str, Any] = {k.HEADER: k for k in (UsageLeaf, AdjustLeaf, CloseLeaf)}


def parse(data: bytes) -> Leaf:
    """The leaf encoded as `data`; FormatError unless `data` is exactly its canonical form."""
    if len(data) > MAX_LEAF_BYTES:
        raise FormatError(f"a leaf is at most {MAX_LEAF_BYTES} bytes")
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as exc:
        raise FormatError("a leaf is ASCII") from exc
    if text.startswith("tollhouse.usage/v1\n"):
        try:
            fast = _parse_usage_fast(text)
        except FormatError:
            fast = None  # out of bounds: the full parser below says which
        if fast is not None:
            return fast
    kind = _KINDS.get(text.partition("\n")[0])
    if kind is None:
        raise FormatError(f"unknown leaf kind {text.partition(chr(10))[0][:40]!r}")
    leaf: Leaf = kind.parse_text(text)
    if leaf.encode() != data:
        raise FormatError("the leaf is not in its canonical form")
    return leaf


def field_names(kind: type[Leaf]) -> list[str]:
    return [f.name for f in fields(kind)]
