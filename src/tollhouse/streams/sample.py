"""The sample stream's choice: a deterministic 1 % of posts, decided by the post id alone.

Snowflake ids are not uniform in their low bits (the sequence number is mostly 0), so the id is
mixed first; every process and every run picks the same posts.
"""

from __future__ import annotations

import hashlib

SAMPLE_BUCKETS = 100


def in_sample(post_id: int) -> bool:
    """True for the ~1 % of post ids that the sample stream delivers."""
    digest = hashlib.blake2b(post_id.to_bytes(8, "big", signed=False), digest_size=8).digest()
    return int.from_bytes(digest, "big") % SAMPLE_BUCKETS == 0
