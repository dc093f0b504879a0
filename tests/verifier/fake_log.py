"""A log server made of the real formats, whose contents a test can rewrite at will: what a
dishonest platform could serve. Served through httpx's MockTransport to the real verifier."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import replace
from datetime import date
from pathlib import Path

import httpx

from tollhouse_verify.checkpoint import Checkpoint
from tollhouse_verify.leaf import COUNTING_RULE, CloseLeaf, UsageLeaf, ids_digest
from tollhouse_verify.note import Signer
from tollhouse_verify.tiles import TILE_WIDTH, encode_bundle, parse_path
from tollhouse_verify.tree import MemoryTree

ORG = 7
ORIGIN = f"api.example/usage/{ORG}"
SIGNER = Signer.from_seed(ORIGIN, b"\x03" * 32)
VKEY = str(SIGNER.verifier)
DAY = date(2026, 3, 1)
DAY_MS = (DAY - date(1970, 1, 1)).days * 86_400_000


def rid(n: int, at_ms: int) -> str:
    """A UUIDv7-shaped request id at `at_ms` (the verifier reads the time from it)."""
    raw = f"{at_ms:012x}7{n:03x}8{n:015x}"
    return str(uuid.UUID(raw))


def usage(n: int, posts: list[int], status: int = 200, at_ms: int | None = None) -> UsageLeaf:
    at = DAY_MS + 1000 * n if at_ms is None else at_ms
    return UsageLeaf(
        org=ORG, rid=rid(n, at), time_ms=at, app=70, key="k7", method="GET",
        route="/2/tweets/:id" if len(posts) == 1 else "/2/tweets", status=status,
        bill=200 <= status < 300, posts=len(posts) if status < 300 else 0,
        new=len(set(posts)) if status < 300 else 0, size_bytes=100 + 10 * len(posts),
        ids=ids_digest(posts) if posts and status < 300 else None, user=None,
    )  # fmt: skip


def own_record(leaf: UsageLeaf, posts: list[int]) -> dict[str, object]:
    path = f"/2/tweets/{posts[0]}" if leaf.route == "/2/tweets/:id" else "/2/tweets"
    return {"request_id": leaf.rid, "status": leaf.status, "route": f"GET {path}",
            "post_ids": posts if leaf.status < 300 else []}  # fmt: skip


def close_of(entries: list[bytes], start: int, end: int) -> CloseLeaf:
    from tollhouse_verify import leaf as leaves

    parsed = [leaves.parse(e) for e in entries[start:end]]
    used = [p for p in parsed if isinstance(p, UsageLeaf)]
    return CloseLeaf(
        org=ORG, day=DAY, start=start, end=end, requests=len(used),
        billable=sum(p.bill for p in used), posts=sum(p.posts for p in used),
        new=sum(p.new for p in used), size_bytes=sum(p.size_bytes for p in used), late=0,
        rule=COUNTING_RULE, pricebook_id="plans", pricebook_hash=b"\x01" * 32,
    )  # fmt: skip


class FakeLog:
    """Entries, a checkpoint signed over them, and the HTTP answers of /usage-log/v1/."""

    def __init__(self, entries: list[bytes], signer: Signer = SIGNER) -> None:
        self.entries = list(entries)
        self.signer = signer
        self.extra_signers: list[Signer] = []
        self.note = ""
        self.sign()

    def sign(self, size: int | None = None) -> str:
        size = len(self.entries) if size is None else size
        root = MemoryTree.of_leaves(self.entries[:size]).root()
        self.note = Checkpoint(self.signer.name, size, root).sign(
            [self.signer, *self.extra_signers]
        )
        return self.note

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/usage-log/v1/")
        tree = MemoryTree.of_leaves(self.entries)
        if path == "checkpoint":
            return httpx.Response(200, text=self.note)
        if path == "consistency":
            old, new = int(request.url.params["old"]), int(request.url.params["new"])
            proof = tree.consistency_proof(old, new)
            return httpx.Response(200, text="".join(base64.b64encode(p).decode() + "\n"
                                                    for p in proof))  # fmt: skip
        ref = parse_path(path)
        lo = ref.n * TILE_WIDTH
        return httpx.Response(200, content=encode_bundle(self.entries[lo : lo + ref.width]))

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handler))


def write_own(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


__all__ = ["FakeLog", "replace"]
