"""The tlog-tiles layout: paths, bundles, and a tree read back from its tiles."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tollhouse_verify.checkpoint import Checkpoint
from tollhouse_verify.errors import FormatError, ProofError
from tollhouse_verify.note import Signer
from tollhouse_verify.proof import Receipt
from tollhouse_verify.tiles import (
    TILE_WIDTH,
    TiledTree,
    TileRef,
    decode_bundle,
    encode_bundle,
    encode_index,
    entries_path,
    parse_path,
    tile_path,
    tiles_for,
)
from tollhouse_verify.tree import MemoryTree, node_hash


def test_paths_as_the_spec_writes_them() -> None:
    assert encode_index(1234067) == "x001/x234/067"
    assert encode_index(0) == "000"
    assert tile_path(0, 1234067) == "tile/0/x001/x234/067"
    assert tile_path(1, 3, 17) == "tile/1/003.p/17"
    assert entries_path(1234067, 5) == "tile/entries/x001/x234/067.p/5"
    assert parse_path("tile/entries/x001/x234/067.p/5") == TileRef(None, 1234067, 5)
    assert parse_path("tile/2/000") == TileRef(2, 0, 256)


@given(st.integers(0, 10**15), st.integers(1, 256), st.integers(0, 8))
def test_path_round_trip(n: int, width: int, level: int) -> None:
    assert parse_path(tile_path(level, n, width)) == TileRef(level, n, width)
    assert parse_path(entries_path(n, width)) == TileRef(None, n, width)


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/1",
        "tile/0/x1/000",
        "tile/0/001/000",
        "tile/00/000",
        "tile/0/000.p/256",
        "tile/0/000.p/0",
        "tile/0/000.p/05",
        "tile/x/000",
        "tiles/0/000",
        "tile/0/x000/001",
    ],
)
def test_non_canonical_paths_are_rejected(path: str) -> None:
    with pytest.raises(FormatError):
        parse_path(path)


@given(st.lists(st.binary(max_size=300), max_size=40))
def test_bundle_round_trip(entries: list[bytes]) -> None:
    assert decode_bundle(encode_bundle(entries), len(entries)) == entries


def test_bad_bundles() -> None:
    data = encode_bundle([b"abc", b"de"])
    for bad, width in ((data[:-1], 2), (data, 3), (data + b"\x00", 2)):
        with pytest.raises(FormatError):
            decode_bundle(bad, width)


def _tiles_of(tree: MemoryTree) -> dict[tuple[int, int], bytes]:
    tiles: dict[tuple[int, int], bytes] = {}
    level_hashes = list(tree.hashes)
    level = 0
    while level_hashes:
        for n, width in tiles_for(len(level_hashes) << (8 * level), level):
            tiles[(level, n)] = b"".join(level_hashes[n * 256 : n * 256 + width])
        full = len(level_hashes) // TILE_WIDTH
        level_hashes = [
            MemoryTree(level_hashes[i * 256 : (i + 1) * 256]).root() for i in range(full)
        ]
        level += 1
    return tiles


@pytest.mark.parametrize("size", [1, 255, 256, 257, 511, 512, 70_000])
def test_tiled_tree_matches_the_memory_tree(size: int) -> None:
    tree = MemoryTree.of_leaves([i.to_bytes(4, "big") for i in range(size)])
    tiles = _tiles_of(tree)
    tiled = TiledTree(size, lambda level, n: tiles[(level, n)])
    assert tiled.root() == tree.root()
    for index in {0, size // 3, size - 1}:
        assert tiled.range_hash(0, size) == tree.root()
        assert tree.inclusion_proof(index) == MemoryTree.inclusion_proof(tree, index)
    if size <= 600:
        for old in (1, size // 2 or 1, size):
            assert TiledTree(size, lambda level, n: tiles[(level, n)]).root() == tree.root()
            from tollhouse_verify.tree import consistency_proof, inclusion_proof

            assert consistency_proof(old, size, tiled.range_hash) == tree.consistency_proof(old)
            assert inclusion_proof(old - 1, size, tiled.range_hash) == tree.inclusion_proof(old - 1)


def test_receipt_round_trip_and_rejections() -> None:
    tree = MemoryTree.of_leaves([b"a", b"b", b"c", b"d", b"e"])
    signer = Signer.from_seed("h/usage/1", b"\x02" * 32)
    note = Checkpoint("h/usage/1", 5, tree.root()).sign([signer])
    receipt = Receipt(3, tuple(tree.inclusion_proof(3)), note, extra=b"d")
    parsed = Receipt.parse(receipt.encode())
    assert parsed == receipt
    parsed.verify(tree.hashes[3], [signer.verifier], "h/usage/1")
    with pytest.raises(ProofError):
        parsed.verify(tree.hashes[2], [signer.verifier], "h/usage/1")
    with pytest.raises(FormatError):
        parsed.verify(tree.hashes[3], [signer.verifier], "h/usage/2")  # another log's proof
    with pytest.raises(FormatError):
        Receipt.parse(receipt.encode().replace("index 3", "index 03"))
    assert node_hash(tree.hashes[0], tree.hashes[1]) == tree.range_hash(0, 2)


@pytest.mark.parametrize("size", [1, 255, 256, 257, 65_536, 65_537, 70_000])
def test_tile_writer_grows_the_same_tiles_and_root(size: int) -> None:
    from tollhouse_verify.tiles import TileWriter, rightmost_tiles

    tree = MemoryTree.of_leaves([i.to_bytes(4, "big") for i in range(size)])
    expected = _tiles_of(tree)
    # Grown in two steps, resumed from the stored partial tiles as a server does.
    half = size // 2
    first = TileWriter()
    for h in tree.hashes[:half]:
        first.append(h)
    stored = first.changed()
    partial = {
        level: [stored[(level, n)][i : i + 32] for i in range(0, width * 32, 32)]
        for level, n, width in rightmost_tiles(half)
    }
    second = TileWriter(half, partial)
    assert TileWriter.from_frontier(half, first.frontier()).frontier() == second.frontier()
    for h in tree.hashes[half:]:
        second.append(h)
    stored.update(second.changed())
    assert stored == expected
    assert second.root() == tree.root()
