"""Closing a UTC day: a close leaf with the totals of the day's index range, then a checkpoint,
whose note's hash goes into the operator log.

A day's range is every leaf appended after the previous close and before this one: indices, not
timestamps, so a total is an exact sum a licensee can redo from the entries. Events of the day
that reach the store after the close (beyond `receipts_close_grace_seconds`) fall into the next
range, where `late` counts them. The counting rule's id and the price book's hash are on the
leaf, so an invoice built from these totals can name exactly what it applied.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from hashlib import sha256

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tollhouse.metering.models import usage_log_heads
from tollhouse.metering.usage_log import append_leaf
from tollhouse.receipts.checkpoints import SignedHead, read_leaves, sign_log
from tollhouse.receipts.models import OPERATOR_LOG, receipt_closes, receipt_roots
from tollhouse.receipts.signing import LogSigner
from tollhouse_verify import leaf as leaves
from tollhouse_verify.leaf import COUNTING_RULE, AdjustLeaf, CloseLeaf, UsageLeaf

_DAY_MS = 86_400_000
_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class PriceBook:
    """Which price book applies: an id and the SHA-256 of its text."""

    id: str
    digest: bytes


NO_PRICE_BOOK = PriceBook("none", sha256(b"").digest())


def totals(entries: Iterable[bytes], org_id: int, day: date, start: int, end: int,
           price_book: PriceBook) -> CloseLeaf:  # fmt: skip
    """The close leaf of `day` over the leaves [start, end) given as `entries`."""
    requests = billable = posts = new = size = late = 0
    day_start_ms = (day - _EPOCH).days * _DAY_MS
    for data in entries:
        leaf = leaves.parse(data)
        if isinstance(leaf, UsageLeaf):
            requests += 1
            billable += leaf.bill
            posts += leaf.posts
            new += leaf.new
            size += leaf.size_bytes
            late += leaf.time_ms < day_start_ms
        elif isinstance(leaf, AdjustLeaf):
            billable += leaf.bill
            posts += leaf.posts
            new += leaf.new
            size += leaf.size_bytes
    return CloseLeaf(
        org=org_id, day=day, start=start, end=end, requests=requests,
        billable=max(billable, 0), posts=max(posts, 0), new=max(new, 0), size_bytes=max(size, 0),
        late=late, rule=COUNTING_RULE, pricebook_id=price_book.id,
        pricebook_hash=price_book.digest,
    )  # fmt: skip


def last_closable_day(now: datetime, grace_seconds: int) -> date:
    """The latest day whose close is due at `now` (its end plus the grace has passed)."""
    return (now - timedelta(seconds=grace_seconds)).date() - timedelta(days=1)


def close_org(
    conn: Connection,
    signer: LogSigner,
    org_id: int,
    now: datetime,
    grace_seconds: int,
    price_book: PriceBook,
) -> list[SignedHead]:
    """Close every due day of `org_id`'s log; the checkpoints signed right after each close."""
    c = receipt_closes.c
    last = conn.execute(
        sa.select(c.day, c.idx).where(c.org_id == org_id).order_by(c.day.desc()).limit(1)
    ).first()
    until = last_closable_day(now, grace_seconds)
    if last is not None:
        day, start = last.day + timedelta(days=1), int(last.idx) + 1
    else:
        first = read_leaves(conn, org_id, 0, 1)
        if not first:
            return []
        parsed = leaves.parse(first[0])
        if not isinstance(parsed, UsageLeaf):
            return []
        day, start = _EPOCH + timedelta(days=parsed.time_ms // _DAY_MS), 0
    heads: list[SignedHead] = []
    while day <= until:
        h = usage_log_heads.c
        size = int(
            conn.execute(sa.select(h.size).where(h.org_id == org_id)).scalar_one_or_none() or 0
        )
        close = totals(read_leaves(conn, org_id, start, size), org_id, day, start, size,
                       price_book)  # fmt: skip
        index = append_leaf(conn, org_id, f"close:{day.isoformat()}", close.encode())
        if index is None:  # closed by another process meanwhile
            break
        conn.execute(
            receipt_closes.insert().values(
                org_id=org_id, day=day, idx=index, range_start=start, range_end=size
            )
        )
        head = sign_log(conn, signer, org_id, now)
        if head is not None:
            heads.append(head)
            _add_to_operator_log(conn, head)
        start = index + 1
        day += timedelta(days=1)
    return heads


def _add_to_operator_log(conn: Connection, head: SignedHead) -> None:
    digest = base64.b64encode(sha256(head.note.encode()).digest()).decode()
    leaf = f"tollhouse.root/v1\nlog {head.origin}\nsize {head.size}\nnote {digest}\n".encode()
    size = conn.execute(sa.select(sa.func.count()).select_from(receipt_roots)).scalar_one()
    conn.execute(
        receipt_roots.insert().values(idx=size, org_id=head.org_id, size=head.size, leaf=leaf)
    )


def close_round(
    engine: Engine,
    signer: LogSigner,
    now: datetime | None = None,
    grace_seconds: int = 600,
    price_book: PriceBook = NO_PRICE_BOOK,
) -> list[SignedHead]:
    """Close the due days of every log, then sign the operator log if it grew."""
    now = now or datetime.now(UTC)
    until = last_closable_day(now, grace_seconds)
    u = usage_log_heads.c
    c = receipt_closes.c
    last_close = sa.select(c.org_id, sa.func.max(c.day).label("day")).group_by(c.org_id).subquery()
    with engine.connect() as conn:
        orgs = [
            int(r.org_id)
            for r in conn.execute(
                sa.select(u.org_id)
                .select_from(usage_log_heads.outerjoin(last_close, last_close.c.org_id == u.org_id))
                .where(last_close.c.day.is_(None) | (last_close.c.day < until))
                .order_by(u.org_id)
            )
        ]
    heads: list[SignedHead] = []
    for org_id in orgs:
        with engine.begin() as conn:
            heads += close_org(conn, signer, org_id, now, grace_seconds, price_book)
    if heads:
        with engine.begin() as conn:
            operator = sign_log(conn, signer, OPERATOR_LOG, now)
            if operator is not None:
                heads.append(operator)
    return heads
