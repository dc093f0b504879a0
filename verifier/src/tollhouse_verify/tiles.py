"""The C2SP tlog-tiles layout (c2sp.org/tlog-tiles): tile paths, entry bundles, and a tree
read from tiles.

A tile at level L holds up to 256 consecutive hashes of height 8·L (level 0: leaf hashes); tile
N covers hashes [256·N, 256·N + W). Paths: `tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]`
with N in 3-digit groups, every group but the last prefixed `x` (1234067 → `x001/x234/067`).
An entry bundle is its entries one after another, each after a big-endian uint16 length.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from tollhouse_verify.errors import FormatError
from tollhouse_verify.tree import HASH_SIZE, node_hash, split_point

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
MAX_LEVEL = 63 // TILE_HEIGHT + 1
MAX_ENTRY_BYTES = 0xFFFF


def encode_index(n: int) -> str:
    """N as path elements: 3-digit groups, `x` before all but the last."""
    if n < 0:
        raise ValueError("tile indexes are non-negative")
    groups = []
    while True:
        groups.append(f"{n % 1000:03d}")
        n //= 1000
        if n == 0:
            break
    groups.reverse()
    return "/".join([*("x" + g for g in groups[:-1]), groups[-1]])


def tile_path(level: int, n: int, width: int = TILE_WIDTH) -> str:
    """The path of hash tile N at `level`, partial when `width` < 256."""
    if not 1 <= width <= TILE_WIDTH:
        raise ValueError("a tile holds 1 to 256 hashes")
    suffix = "" if width == TILE_WIDTH else f".p/{width}"
    return f"tile/{level}/{encode_index(n)}{suffix}"


def entries_path(n: int, width: int = TILE_WIDTH) -> str:
    """The path of entry bundle N, partial when `width` < 256."""
    if not 1 <= width <= TILE_WIDTH:
        raise ValueError("a bundle holds 1 to 256 entries")
    suffix = "" if width == TILE_WIDTH else f".p/{width}"
    return f"tile/entries/{encode_index(n)}{suffix}"


@dataclass(frozen=True)
class TileRef:
    """A parsed tile path: `level` None for an entry bundle."""

    level: int | None
    n: int
    width: int


def parse_path(path: str) -> TileRef:
    """Parse `tile/…` strictly (the canonical form only); FormatError otherwise."""
    parts = path.split("/")
    if len(parts) < 3 or parts[0] != "tile":
        raise FormatError(f"not a tile path: {path[:80]!r}")
    head = parts[1]
    rest = parts[2:]
    width = TILE_WIDTH
    if len(rest) >= 2 and rest[-2].endswith(".p"):
        w = rest[-1]
        if not w.isdigit() or w[0] == "0" or not 1 <= int(w) < TILE_WIDTH:
            raise FormatError(f"a partial tile's width is 1-255: {path[:80]!r}")
        width = int(w)
        rest = [*rest[:-2], rest[-2][:-2]]
    if not rest or len(rest) > 7:
        raise FormatError(f"not a tile index: {path[:80]!r}")
    digits = ""
    for i, group in enumerate(rest):
        want_x = i < len(rest) - 1
        if want_x:
            if not group.startswith("x"):
                raise FormatError(f"not a tile index: {path[:80]!r}")
            group = group[1:]
        if len(group) != 3 or not group.isascii() or not group.isdigit():
            raise FormatError(f"not a tile index: {path[:80]!r}")
        digits += group
    n = int(digits)
    if encode_index(n) != "/".join(rest):
        raise FormatError(f"not the canonical tile index: {path[:80]!r}")
    if head == "entries":
        return TileRef(None, n, width)
    if not head.isdigit() or (len(head) > 1 and head[0] == "0") or int(head) > MAX_LEVEL:
        raise FormatError(f"not a tile level: {path[:80]!r}")
    return TileRef(int(head), n, width)


def encode_bundle(entries: list[bytes]) -> bytes:
    out = bytearray()
    for entry in entries:
        if len(entry) > MAX_ENTRY_BYTES:
            raise ValueError("an entry is at most 65535 bytes")
        out += len(entry).to_bytes(2, "big")
        out += entry
    return bytes(out)


def decode_bundle(data: bytes, width: int) -> list[bytes]:
    """The `width` entries of a bundle; FormatError unless it holds exactly that many."""
    entries = []
    pos = 0
    end = len(data)
    while pos < end:
        if pos + 2 > end:
            raise FormatError("an entry bundle ends inside a length")
        n = int.from_bytes(data[pos : pos + 2], "big")
        pos += 2
        if pos + n > end:
            raise FormatError("an entry bundle ends inside an entry")
        entries.append(data[pos : pos + n])
        pos += n
    if len(entries) != width:
        raise FormatError(f"an entry bundle of {len(entries)} entries, expected {width}")
    return entries


def tiles_for(size: int, level: int = 0) -> Iterator[tuple[int, int]]:
    """(N, width) of the tiles (at `level`) or bundles (level 0) that a tree of `size` has."""
    count = size >> (TILE_HEIGHT * level)
    full, partial = divmod(count, TILE_WIDTH)
    for n in range(full):
        yield n, TILE_WIDTH
    if partial:
        yield full, partial


def split_hashes(data: bytes, width: int) -> list[bytes]:
    if len(data) != width * HASH_SIZE:
        raise FormatError(f"a tile of {len(data)} bytes, expected {width * HASH_SIZE}")
    return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


def perfect_root(hashes: list[bytes]) -> bytes:
    """The root over a power-of-two run of same-height hashes."""
    while len(hashes) > 1:
        hashes = [node_hash(hashes[i], hashes[i + 1]) for i in range(0, len(hashes), 2)]
    return hashes[0]


TileSource = Callable[[int, int], bytes]
"""(level, N) → the stored hashes of that tile (256, or fewer for the last, partial one)."""


class TiledTree:
    """A tree of `size` leaves read from its hash tiles: range hashes for proofs and roots."""

    def __init__(self, size: int, tile: TileSource) -> None:
        self.size = size
        self._tile = tile
        self._cache: dict[tuple[int, int], bytes] = {}

    def _hashes(self, level: int, lo: int, hi: int) -> list[bytes]:
        """Hashes [lo, hi) at height 8·level (within one tile)."""
        n = lo // TILE_WIDTH
        key = (level, n)
        data = self._cache.get(key)
        if data is None:
            data = self._cache[key] = self._tile(level, n)
        start = (lo - n * TILE_WIDTH) * HASH_SIZE
        stop = (hi - n * TILE_WIDTH) * HASH_SIZE
        if stop > len(data):
            raise FormatError(f"tile {level}/{n} is shorter than the tree needs")
        return [data[i : i + HASH_SIZE] for i in range(start, stop, HASH_SIZE)]

    def subtree(self, height: int, k: int) -> bytes:
        """MTH of the complete subtree of 2**height leaves starting at k·2**height."""
        level, rest = divmod(height, TILE_HEIGHT)
        width = 1 << rest
        return perfect_root(self._hashes(level, k * width, (k + 1) * width))

    def range_hash(self, lo: int, hi: int) -> bytes:
        size = hi - lo
        if size <= 0 or hi > self.size:
            raise ValueError(f"no range [{lo}, {hi}) in a tree of {self.size}")
        if size & (size - 1) == 0 and lo % size == 0:
            return self.subtree(size.bit_length() - 1, lo // size)
        k = split_point(size)
        return node_hash(self.range_hash(lo, lo + k), self.range_hash(lo + k, hi))

    def root(self) -> bytes:
        from tollhouse_verify.tree import EMPTY_ROOT

        return self.range_hash(0, self.size) if self.size else EMPTY_ROOT


def rightmost_tiles(size: int) -> list[tuple[int, int, int]]:
    """(level, N, width) of the partial tile at the end of each level of a tree of `size`
    (levels whose hash count is a multiple of 256 have none)."""
    out = []
    level = 0
    while size >> (TILE_HEIGHT * level):
        count = size >> (TILE_HEIGHT * level)
        if count % TILE_WIDTH:
            out.append((level, count // TILE_WIDTH, count % TILE_WIDTH))
        level += 1
    return out


class TileWriter:
    """Grows a tiled tree leaf by leaf. It holds only the partial tile at the end of each level
    (all that appending and the root need) and remembers which tiles it changed."""

    def __init__(self, size: int = 0, partial: dict[int, list[bytes]] | None = None) -> None:
        self.size = size
        self._partial = partial or {}
        for level, _n, width in rightmost_tiles(size):
            if len(self._partial.get(level, ())) != width:
                raise FormatError(f"the partial tile at level {level} does not hold {width}")
        self._changed: dict[tuple[int, int], list[bytes]] = {}

    def append(self, leaf_hash: bytes) -> None:
        self.size += 1
        h = leaf_hash
        level = 0
        while True:
            tile = self._partial.setdefault(level, [])
            tile.append(h)
            n = ((self.size >> (TILE_HEIGHT * level)) - 1) // TILE_WIDTH
            self._changed[(level, n)] = tile
            if len(tile) < TILE_WIDTH:
                return
            h = perfect_root(tile)
            self._partial[level] = []
            level += 1

    @classmethod
    def from_frontier(cls, size: int, frontier: bytes) -> TileWriter:
        """A writer resuming at `size` from what `frontier()` returned there."""
        partial: dict[int, list[bytes]] = {}
        pos = 0
        for level, _n, width in rightmost_tiles(size):
            chunk = frontier[pos : pos + width * HASH_SIZE]
            partial[level] = [chunk[i : i + HASH_SIZE] for i in range(0, len(chunk), HASH_SIZE)]
            pos += width * HASH_SIZE
        if pos != len(frontier):
            raise FormatError(f"a frontier of {len(frontier)} bytes for size {size}")
        return cls(size, partial)

    def frontier(self) -> bytes:
        """The partial tile at the end of each level, concatenated (levels upward): all that
        resuming the writer needs."""
        return b"".join(
            b"".join(self._partial[level]) for level, _n, _w in rightmost_tiles(self.size)
        )

    def changed(self) -> dict[tuple[int, int], bytes]:
        """{(level, N): hashes} of every tile that grew since the writer was made."""
        return {key: b"".join(hashes) for key, hashes in self._changed.items()}

    def root(self) -> bytes:
        from tollhouse_verify.tree import EMPTY_ROOT

        if not self.size:
            return EMPTY_ROOT
        partial = {
            (level, n): b"".join(self._partial[level])
            for level, n, _w in rightmost_tiles(self.size)
        }
        return TiledTree(self.size, lambda level, n: partial[(level, n)]).root()
