"""Checkpoints, tiles, proofs and day closes over the usage log, on both databases."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.metering.factories import DAY0, make_event
from tollhouse.metering.models import usage_log
from tollhouse.metering.sql_store import record_events
from tollhouse.receipts import serving
from tollhouse.receipts.checkpoints import checkpoint_round
from tollhouse.receipts.day_close import PriceBook, close_round
from tollhouse.receipts.errors import BadProofRequest, NotCheckpointed
from tollhouse.receipts.models import OPERATOR_LOG, receipt_checkpoints
from tollhouse.receipts.signing import LogSigner
from tollhouse_verify import leaf as leaves
from tollhouse_verify.checkpoint import open_checkpoint
from tollhouse_verify.leaf import CloseLeaf
from tollhouse_verify.proof import Receipt
from tollhouse_verify.tiles import TileRef, decode_bundle, split_hashes
from tollhouse_verify.tree import MemoryTree, leaf_hash, verify_consistency

SIGNER = LogSigner("api.example", b"\x05" * 32)


def _leaves(engine: Engine, org: int) -> list[bytes]:
    t = usage_log.c
    with engine.connect() as conn:
        q = sa.select(t.leaf).where(t.org_id == org).order_by(t.idx)
        return [bytes(r[0]) for r in conn.execute(q)]


def _events(rng: random.Random, org: int, n: int, at: datetime = DAY0) -> list:  # type: ignore[type-arg]
    return [
        make_event(rng, org_id=org, app_id=org * 10, post_ids=tuple(range(i % 5)),
                   at=at + timedelta(seconds=i))
        for i in range(n)
    ]  # fmt: skip


def test_rounds_sign_each_log_with_new_leaves_at_most_once_a_minute(usage_engine: Engine) -> None:
    rng = random.Random(1)
    record_events(usage_engine, _events(rng, 1, 300) + _events(rng, 2, 5))
    t0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
    first = checkpoint_round(usage_engine, SIGNER, t0)
    assert sorted((h.org_id, h.size) for h in first) == [(1, 300), (2, 5)]
    for h in first:
        cp = open_checkpoint(h.note, [SIGNER.verifier(h.org_id)], f"api.example/usage/{h.org_id}")
        assert cp.checkpoint.root == MemoryTree.of_leaves(_leaves(usage_engine, h.org_id)).root()
    record_events(usage_engine, _events(rng, 1, 20))
    assert checkpoint_round(usage_engine, SIGNER, t0 + timedelta(seconds=30)) == []
    [again] = checkpoint_round(usage_engine, SIGNER, t0 + timedelta(seconds=61))
    assert (again.org_id, again.size) == (1, 320)
    assert checkpoint_round(usage_engine, SIGNER, t0 + timedelta(seconds=200)) == []  # idle
    with usage_engine.connect() as conn:
        sizes = conn.execute(
            sa.select(receipt_checkpoints.c.size).where(receipt_checkpoints.c.org_id == 1)
        ).scalars()
        assert sorted(sizes) == [300, 320]  # all kept
        tree = MemoryTree.of_leaves(_leaves(usage_engine, 1))
        proof = serving.consistency(conn, SIGNER, 1, 300, 320)
        verify_consistency(300, 320, proof, tree.root(300), tree.root(320))
        with pytest.raises(BadProofRequest):
            serving.consistency(conn, SIGNER, 1, 300, 310)  # never checkpointed
        # Tiles and bundles as the layout says, matching the tree.
        assert (
            split_hashes(serving.tile(conn, SIGNER, 1, TileRef(0, 0, 256)), 256)
            == tree.hashes[:256]
        )
        part = serving.tile(conn, SIGNER, 1, TileRef(0, 1, 64))
        assert split_hashes(part, 64) == tree.hashes[256:320]
        bundle = serving.tile(conn, SIGNER, 1, TileRef(None, 1, 64))
        assert decode_bundle(bundle, 64) == _leaves(usage_engine, 1)[256:320]
        with pytest.raises(NotCheckpointed):
            serving.tile(conn, SIGNER, 1, TileRef(0, 1, 65))
        with pytest.raises(NotCheckpointed):
            serving.tile(conn, SIGNER, 1, TileRef(1, 0, 256))
        # A receipt for a request id: a tlog-proof that verifies, only in its own log.
        rid = leaves.parse(_leaves(usage_engine, 1)[123]).rid  # type: ignore[union-attr]
        text = serving.receipt(conn, SIGNER, 1, rid)
        receipt = Receipt.parse(text)
        assert receipt.index == 123 and receipt.extra == _leaves(usage_engine, 1)[123]
        receipt.verify(leaf_hash(receipt.extra), [SIGNER.verifier(1)], "api.example/usage/1")
        with pytest.raises(NotCheckpointed):
            serving.receipt(conn, SIGNER, 2, rid)  # another organisation's request


def test_a_day_closes_with_its_totals_and_lands_in_the_operator_log(usage_engine: Engine) -> None:
    rng = random.Random(2)
    day1 = _events(rng, 3, 40)
    record_events(usage_engine, day1)
    book = PriceBook("plans", b"\x09" * 32)
    before = datetime(2026, 3, 2, 0, 5, tzinfo=UTC)  # within the grace
    assert close_round(usage_engine, SIGNER, before, 600, book) == []
    late = make_event(rng, org_id=3, app_id=30, at=DAY0 + timedelta(hours=23, minutes=59))
    record_events(usage_engine, [late])
    heads = close_round(usage_engine, SIGNER, datetime(2026, 3, 2, 0, 11, tzinfo=UTC), 600, book)
    assert [h.org_id for h in heads] == [3, OPERATOR_LOG]
    log = _leaves(usage_engine, 3)
    close = leaves.parse(log[-1])
    assert isinstance(close, CloseLeaf)
    events = [*day1, late]
    assert (close.start, close.end, close.requests) == (0, 41, 41)
    assert close.posts == sum(e.posts for e in events)
    assert close.new == sum(e.new_posts for e in events)
    assert close.size_bytes == sum(e.bytes for e in events)
    assert close.billable == 41 and close.pricebook_hash == b"\x09" * 32
    assert heads[0].size == 42
    operator = open_checkpoint(
        heads[1].note, [SIGNER.verifier(OPERATOR_LOG)], "api.example/usage-roots"
    )
    assert operator.checkpoint.size == 1
    # The next day's close starts after this close leaf; closing again adds nothing.
    assert (
        close_round(usage_engine, SIGNER, datetime(2026, 3, 2, 0, 12, tzinfo=UTC), 600, book) == []
    )
    record_events(usage_engine, _events(rng, 3, 3, at=DAY0 + timedelta(days=1)))
    [_next_head, _op] = close_round(
        usage_engine, SIGNER, datetime(2026, 3, 3, 1, tzinfo=UTC), 600, book
    )
    nxt = leaves.parse(_leaves(usage_engine, 3)[-1])
    assert isinstance(nxt, CloseLeaf) and (nxt.start, nxt.end, nxt.requests) == (42, 45, 3)
