"""App bearer tokens: `th_live_<key id><secret><checksum>`.

- key id: 10 base62 characters, public (shown in lists, used to revoke), the cache/DB lookup key;
- secret: 32 base62 characters from `secrets` (≈190 bits);
- checksum: 6 base62 characters of CRC-32 over everything before it, so that a mistyped or
  truncated token is refused without touching the cache or the database.

Only `token_hash` (SHA-256, hex) is stored. Why not bcrypt/argon2: those slow down guessing of
low-entropy *passwords*; a 190-bit random secret cannot be guessed at any hash speed, while a
slow hash would add ~100 ms to every cache miss and invite a cache keyed on plaintext. The hash
is compared with `hmac.compare_digest` so timing reveals nothing about how much of it matched.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import zlib
from dataclasses import dataclass

PREFIX = "th_live_"
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
KEY_ID_LENGTH = 10
SECRET_LENGTH = 32
CHECKSUM_LENGTH = 6
TOKEN_LENGTH = len(PREFIX) + KEY_ID_LENGTH + SECRET_LENGTH + CHECKSUM_LENGTH


def _random(n: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(n))


# Two base62 digits per lookup: the checksum is on the hot path of every request.
_PAIRS = tuple(a + b for a in ALPHABET for b in ALPHABET)
_PAIR = len(_PAIRS)  # 62 ** 2


def checksum(body: str) -> str:
    """The 6-character checksum (CRC-32 in base62) of everything in a token before it."""
    high, rest = divmod(zlib.crc32(body.encode("ascii")), _PAIR * _PAIR)
    middle, low = divmod(rest, _PAIR)
    return _PAIRS[high] + _PAIRS[middle] + _PAIRS[low]


def hash_token(token: str) -> str:
    """The stored form of a token (hex SHA-256)."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


@dataclass(frozen=True, slots=True)
class NewToken:
    key_id: str
    token: str  # shown once, never stored or logged
    token_hash: str


def new_token() -> NewToken:
    """Mint a fresh token with a random key id and secret."""
    key_id = _random(KEY_ID_LENGTH)
    body = PREFIX + key_id + _random(SECRET_LENGTH)
    token = body + checksum(body)
    return NewToken(key_id=key_id, token=token, token_hash=hash_token(token))


def parse_token(token: str) -> str | None:
    """The key id of a well-formed token with a valid checksum, else None (no I/O)."""
    if len(token) != TOKEN_LENGTH or not token.startswith(PREFIX):
        return None
    rest = token[len(PREFIX) :]
    # isascii + isalnum is exactly [0-9A-Za-z], checked in C.
    if not (rest.isascii() and rest.isalnum()):
        return None
    # A plain compare: the checksum protects against typos, not attackers (it is derivable
    # from the token itself), so its timing reveals nothing worth hiding.
    if checksum(token[:-CHECKSUM_LENGTH]) != token[-CHECKSUM_LENGTH:]:
        return None
    return rest[:KEY_ID_LENGTH]


def token_matches(token: str, stored_hash: str) -> bool:
    """Constant-time check of a presented token against its stored hash."""
    return hmac.compare_digest(hash_token(token), stored_hash)


def looks_like_key_id(value: str) -> bool:
    return len(value) == KEY_ID_LENGTH and value.isascii() and value.isalnum()
