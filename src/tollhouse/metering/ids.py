"""UUIDv7 request ids (RFC 9562): 48-bit Unix milliseconds, then 74 random bits.

Time-ordered ids keep the events table's primary key append-mostly and let retention prune by
primary-key range (`uuid7_floor`) instead of needing a second index on time.
"""

from __future__ import annotations

import random
import time

_VERSION = 0x7 << 76
_VARIANT = 0b10 << 62


def uuid7(unix_ms: int | None = None) -> str:
    """A new UUIDv7 as the canonical 36-character lowercase string."""
    ms = time.time_ns() // 1_000_000 if unix_ms is None else unix_ms
    # Request ids must be unique, not unguessable: the process's Mersenne Twister (seeded from
    # os.urandom, reseeded in children after fork) gives 80 bits without the system call, whose
    # GIL release and re-acquisition cost the event loop up to a switch interval per request.
    rand = random.getrandbits(80)
    rand_a = rand >> 68  # 12 bits
    rand_b = rand & ((1 << 62) - 1)
    value = (ms & 0xFFFF_FFFF_FFFF) << 80 | _VERSION | rand_a << 64 | _VARIANT | rand_b
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def uuid7_floor(unix_ms: int) -> str:
    """The smallest UUIDv7 string of millisecond `unix_ms` (every id made later sorts above it)."""
    h = f"{(unix_ms & 0xFFFF_FFFF_FFFF) << 80 | _VERSION:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def uuid7_unix_ms(value: str) -> int:
    """The millisecond timestamp a UUIDv7 string was made at."""
    return int(value.replace("-", "")[:12], 16)
