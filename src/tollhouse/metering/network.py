"""The client network of a request: the /24 (IPv4) or /48 (IPv6) prefix of its address.

One licensee behind one NAT or cloud egress range shows as one network however its addresses
rotate inside it; compliance counts networks per key, not addresses.
"""

from __future__ import annotations

import ipaddress
import sys
from array import array
from functools import lru_cache


@lru_cache(maxsize=65_536)
def client_network(ip: str | None) -> str | None:
    """ "203.0.113.0/24" for 203.0.113.7, "2001:db8:1::/48" for 2001:db8:1:2::1; None for a
    missing or unparseable address."""
    if not ip:
        return None
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def pack_post_ids(post_ids: tuple[int, ...]) -> bytes | None:
    """The ids as little-endian signed 64-bit integers (None for none): how a raw usage event
    keeps which posts it delivered, for rules that need the exact ids."""
    if not post_ids:
        return None
    packed = array("q", post_ids)
    if sys.byteorder != "little":
        packed.byteswap()
    return packed.tobytes()


def unpack_post_ids(blob: bytes | None) -> list[int]:
    """The ids `pack_post_ids` packed."""
    if not blob:
        return []
    packed = array("q")
    packed.frombytes(bytes(blob))
    if sys.byteorder != "little":
        packed.byteswap()
    return packed.tolist()
