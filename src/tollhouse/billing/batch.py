"""A rating run over many organisations with a handful of statements per chunk.

The common case of a monthly run — a period just ended, one plan and one price over it, no
invoice yet — is rated set-wise: usage for a chunk of organisations in the same few queries,
their drafts, lines and rating runs inserted together, and drafts past their grace finalized
together with one bump of the number counter for the invoices this transaction actually moves
(locked first), so numbers stay gapless. Finalized periods are re-rated set-wise for late usage;
only those with something late, drafts being re-rated, plan changes and organisations holding
credit grants take the one-organisation path (`BillingService._rate_and_book`,
`_finalize`). Both paths book the same lines: the unique constraints still settle any race.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tollhouse.access.models import admin_audit
from tollhouse.billing.deltas import Booked, deltas
from tollhouse.billing.errors import NoPriceInForce
from tollhouse.billing.models import (
    billing_accounts,
    credit_grants,
    invoice_lines,
    invoice_numbers,
    invoices,
    rating_runs,
    subscriptions,
)
from tollhouse.billing.organisations import OrgRef
from tollhouse.billing.periods import Period, periods_between
from tollhouse.billing.rating import RatedPeriod, rate_period, segments_in
from tollhouse.billing.service import CORRECTION, _upsert, _utc, utcnow
from tollhouse.billing.usage import UsageReading
from tollhouse.billing.views import RunSummary

if TYPE_CHECKING:
    from tollhouse.billing.service import BillingService

CHUNK = 500
DRAFT, ISSUED, VOID = "draft", ("finalized", "paid"), "void"


@dataclass
class _Task:
    ref: OrgRef
    period: Period
    invoice_id: int | None
    status: str | None
    history: list[tuple[datetime, str]]
    simple: bool


def _fixed(reading: UsageReading) -> Callable[[datetime, datetime], UsageReading]:
    def read(_a: datetime, _b: datetime) -> UsageReading:
        return reading

    return read


def run_all(svc: BillingService, refs: Sequence[OrgRef], as_of: datetime, actor: str) -> RunSummary:
    changes = 0
    due = _orgs_with_due_changes(svc, as_of)
    for ref in refs:
        if ref.id in due:
            changes += svc._apply_due_changes(ref, as_of, actor)
    ids = [r.id for r in refs]
    histories, zones, known = _load(svc, refs)
    missing = [r for r in refs if r.id not in histories]
    if missing:
        with svc.engine.begin() as conn:
            stmt = _upsert(conn, subscriptions).values(
                [
                    {"org_id": r.id, "plan": r.plan, "effective_at": r.created_at,
                     "change": "start", "applied": True, "created_at": utcnow()}
                    for r in missing
                ]
            )  # fmt: skip
            conn.execute(stmt.on_conflict_do_nothing(index_elements=["org_id", "effective_at"]))
        histories, zones, known = _load(svc, refs)
    book = svc.price_book()
    skipped: list[str] = []
    fresh: dict[tuple[datetime, datetime], list[_Task]] = defaultdict(list)
    issued: dict[tuple[datetime, datetime], list[_Task]] = defaultdict(list)
    single: list[_Task] = []
    for ref in refs:
        history = histories[ref.id]
        since = history[0][0]
        tz = zones.get(ref.id)
        ended = [p for p in periods_between(since, as_of, ref.billing_day, tz) if p.end <= as_of]
        seen = 0
        chosen = []
        for period in reversed(ended):
            inv_id, status = known.get((ref.id, period.start), (None, None))
            if status in (*ISSUED, VOID):
                seen += 1
                if seen > svc.correction_periods:
                    continue
            chosen.append((period, inv_id, status))
        for period, inv_id, status in reversed(chosen):
            segs = segments_in(period, history)
            try:
                for seg in segs:
                    book.in_force(seg.plan, seg.start)
            except NoPriceInForce as exc:
                # One organisation on an unpriced plan must not stop everyone's invoices.
                skipped.append(f"{ref.name}: {exc}")
                continue
            simple = len(segs) == 1 and not book.changes_within(
                segs[0].plan, period.start, period.end
            )
            task = _Task(ref, period, inv_id, status, history, simple)
            if simple and inv_id is None:
                fresh[(period.start, period.end)].append(task)
            elif simple and status in ISSUED:
                issued[(period.start, period.end)].append(task)
            else:
                single.append(task)
    rated_n = booked_n = 0
    drafts: list[int] = []
    for (start, end), tasks in fresh.items():
        for i in range(0, len(tasks), CHUNK):
            n, made = _book_fresh(svc, tasks[i : i + CHUNK], start, end, as_of)
            rated_n += len(tasks[i : i + CHUNK])
            booked_n += n
            drafts += made
    for (start, end), tasks in issued.items():
        for i in range(0, len(tasks), CHUNK):
            late = _check_issued(svc, tasks[i : i + CHUNK], start, end, as_of)
            rated_n += len(tasks[i : i + CHUNK]) - len(late)
            single += late
    single.sort(key=lambda t: (t.ref.id, t.period.start))
    for t in single:
        n, draft_id = svc._rate_and_book(t.ref, t.period, t.invoice_id, t.status, as_of)
        rated_n += 1
        booked_n += n
        if draft_id not in drafts:
            drafts.append(draft_id)
    finalized = _finalize_due(svc, ids, as_of, actor)
    return RunSummary(
        as_of, rated_n, booked_n, tuple(drafts), tuple(finalized), changes, tuple(skipped)
    )


def _orgs_with_due_changes(svc: BillingService, as_of: datetime) -> set[int]:
    s = subscriptions.c
    with svc.engine.connect() as conn:
        return set(
            conn.execute(
                sa.select(s.org_id).where(s.applied.is_(False), s.effective_at <= as_of)
            ).scalars()
        )


def _load(
    svc: BillingService, refs: Sequence[OrgRef]
) -> tuple[
    dict[int, list[tuple[datetime, str]]], dict[int, str | None], dict[tuple[int, datetime], Any]
]:
    wanted = {r.id for r in refs}
    histories: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    with svc.engine.connect() as conn:
        s = subscriptions.c
        for org_id, at, plan in conn.execute(
            sa.select(s.org_id, s.effective_at, s.plan).order_by(s.org_id, s.effective_at)
        ):
            if org_id in wanted:
                histories[org_id].append((_utc(at), plan))
        zones = {
            o: z
            for o, z in conn.execute(
                sa.select(billing_accounts.c.org_id, billing_accounts.c.time_zone)
            )
            if o in wanted
        }
        i = invoices.c
        known = {
            (o, _utc(start)): (inv_id, status)
            for inv_id, o, start, status in conn.execute(
                sa.select(i.id, i.org_id, i.period_start, i.status)
            )
            if o in wanted
        }
    return dict(histories), zones, known


def _rate(
    svc: BillingService, tasks: Sequence[_Task], start: datetime, end: datetime
) -> dict[int, RatedPeriod]:
    readings = svc.usage.read_many([t.ref.id for t in tasks], start, end)
    book = svc.price_book()
    out = {}
    for t in tasks:
        reading = readings[t.ref.id]
        segs = segments_in(t.period, t.history)
        out[t.ref.id] = rate_period(t.period, segs, book, _fixed(reading))
    return out


def _book_fresh(
    svc: BillingService, tasks: Sequence[_Task], start: datetime, end: datetime, as_of: datetime
) -> tuple[int, list[int]]:
    rated = _rate(svc, tasks, start, end)
    now = utcnow()
    lines = {o: deltas(r.lines, {}, r.currency) for o, r in rated.items()}
    with svc.engine.begin() as conn:
        stmt = _upsert(conn, invoices).values(
            [
                {"org_id": t.ref.id, "period_start": start, "period_end": end, "status": DRAFT,
                 "currency": rated[t.ref.id].currency,
                 "snapshot": _snapshot(t.ref, rated[t.ref.id]),
                 "subtotal": Decimal(0), "credits_applied": Decimal(0), "total": Decimal(0),
                 "created_at": now, "updated_at": now}
                for t in tasks
            ]
        )  # fmt: skip
        conn.execute(stmt.on_conflict_do_nothing(index_elements=["org_id", "period_start"]))
        i = invoices.c
        mine = sa.select(i.id, i.org_id, i.status).where(
            i.org_id.in_([t.ref.id for t in tasks]), i.period_start == start
        )
        if conn.dialect.name == "postgresql":
            # Locked like a finalization locks them: lines never land on an invoice another
            # run finalizes meanwhile (SQLite's writer lock, taken by the insert, does the same).
            mine = mine.with_for_update()
        ids = {o: (inv_id, status) for inv_id, o, status in conn.execute(mine)}
        drafts = {o: inv for o, (inv, status) in ids.items() if status == DRAFT}
        run_rows = [
            {"org_id": o, "period_start": start, "period_end": end, "as_of": as_of,
             "usage_state": rated[o].usage_state(), "lines_booked": len(lines[o]),
             "created_at": now}
            for o in drafts
        ]  # fmt: skip
        run_ids: dict[int, int] = {}
        if run_rows:
            result = conn.execute(
                rating_runs.insert().returning(
                    rating_runs.c.id, rating_runs.c.org_id, sort_by_parameter_order=True
                ),
                run_rows,
            )
            run_ids = {o: rid for rid, o in result}
        line_rows = [
            {"invoice_id": inv, "line_key": d.key, "position": n, "description": d.description,
             "quantity": d.quantity, "unit_price": d.unit_price, "amount": d.amount,
             "precise": d.precise, "service_period_start": start, "service_period_end": end,
             "corrects": None, "run_id": run_ids.get(o)}
            for o, inv in drafts.items()
            for n, d in enumerate(lines[o])
        ]  # fmt: skip
        if line_rows:
            ins = _upsert(conn, invoice_lines).values(line_rows)
            conn.execute(ins.on_conflict_do_nothing(index_elements=["invoice_id", "line_key"]))
        _retotal_many(conn, list(drafts.values()))
    return len(line_rows), list(drafts.values())


def _retotal_many(conn: Connection, invoice_ids: list[int]) -> None:
    if not invoice_ids:
        return
    sums: dict[int, Decimal] = {i: Decimal(0) for i in invoice_ids}
    ln = invoice_lines.c
    for inv, amount in conn.execute(
        sa.select(ln.invoice_id, ln.amount).where(ln.invoice_id.in_(invoice_ids))
    ):
        sums[inv] += amount
    conn.execute(
        sa.update(invoices)
        .where(invoices.c.id == sa.bindparam("b_id"), invoices.c.status == DRAFT)
        .values(subtotal=sa.bindparam("b_sub"), total=sa.bindparam("b_sub")),
        [{"b_id": i, "b_sub": s} for i, s in sums.items()],
    )


def _snapshot(ref: OrgRef, rated: RatedPeriod) -> dict[str, Any]:
    return {
        "org": {"id": ref.id, "name": ref.name, "billing_day": ref.billing_day},
        "plans": [
            {"plan": s.plan, "start": s.start.isoformat(), "end": s.end.isoformat()}
            for s in rated.segments
        ],
        "prices": [p.to_dict() for p in rated.prices],
        "usage": [r.to_dict() for r in rated.readings],
    }


def _check_issued(
    svc: BillingService, tasks: Sequence[_Task], start: datetime, end: datetime, as_of: datetime
) -> list[_Task]:
    """Re-rate issued periods; record each run, and return the tasks with late usage."""
    rated = _rate(svc, tasks, start, end)
    ln, i = invoice_lines.c, invoices.c
    booked: dict[int, dict[str, Booked]] = defaultdict(dict)
    with svc.engine.connect() as conn:
        rows = conn.execute(
            sa.select(i.org_id, ln.line_key, ln.description, ln.quantity, ln.amount, ln.precise)
            .join(invoices, i.id == ln.invoice_id)
            .where(
                i.org_id.in_([t.ref.id for t in tasks]), i.status.in_(ISSUED),
                ln.service_period_start == start,
            )
        )  # fmt: skip
        for o, key, description, q, amount, precise in rows:
            base = key.removeprefix(CORRECTION)
            have = booked[o].get(base, Booked(Decimal(0), Decimal(0), Decimal(0), description))
            booked[o][base] = Booked(
                have.quantity + q, have.amount + amount, have.precise + precise, have.description
            )
    late: list[_Task] = []
    quiet: list[_Task] = []
    for t in tasks:
        r = rated[t.ref.id]
        (late if deltas(r.lines, booked[t.ref.id], r.currency) else quiet).append(t)
    if quiet:
        now = utcnow()
        with svc.engine.begin() as conn:
            conn.execute(
                rating_runs.insert(),
                [
                    {"org_id": t.ref.id, "period_start": start, "period_end": end, "as_of": as_of,
                     "usage_state": rated[t.ref.id].usage_state(), "lines_booked": 0,
                     "created_at": now}
                    for t in quiet
                ],
            )  # fmt: skip
    return late


def _finalize_due(
    svc: BillingService, org_ids: Sequence[int], as_of: datetime, actor: str
) -> list[int]:
    wanted = set(org_ids)
    i = invoices.c
    with svc.engine.connect() as conn:
        due = [
            (inv, o)
            for inv, o, end in conn.execute(
                sa.select(i.id, i.org_id, i.period_end)
                .where(i.status == DRAFT)
                .order_by(i.period_start, i.id)
            )
            if o in wanted and _utc(end) + svc.grace <= as_of
        ]
        with_grants = set(conn.execute(sa.select(credit_grants.c.org_id).distinct()).scalars())
    out: list[int] = []
    for inv, o in due:
        if o in with_grants and svc._finalize(inv, actor, as_of) is not None:
            out.append(inv)
    plain = [inv for inv, o in due if o not in with_grants]
    for c in range(0, len(plain), CHUNK):
        chunk = plain[c : c + CHUNK]
        with svc.engine.begin() as conn:
            lock = sa.select(i.id, i.subtotal).where(i.id.in_(chunk), i.status == DRAFT)
            if conn.dialect.name == "postgresql":
                lock = lock.with_for_update()
            else:
                # SQLite reads outside a transaction until the first write: write first (a
                # no-op on the counter) so that the drafts are read under the writer lock and a
                # concurrent run cannot finalize them between the read and the numbering.
                conn.execute(
                    invoice_numbers.update()
                    .where(invoice_numbers.c.id == 1)
                    .values(last_number=invoice_numbers.c.last_number)
                )
            rows = sorted(conn.execute(lock).all(), key=lambda r: chunk.index(r[0]))
            if not rows:
                continue
            last = conn.execute(
                invoice_numbers.update()
                .where(invoice_numbers.c.id == 1)
                .values(last_number=invoice_numbers.c.last_number + len(rows))
                .returning(invoice_numbers.c.last_number)
            ).scalar_one()
            first = last - len(rows) + 1
            params = [
                {"b_id": inv, "b_number": first + n, "b_total": sub,
                 "b_status": "finalized" if sub > 0 else "paid"}
                for n, (inv, sub) in enumerate(rows)
            ]  # fmt: skip
            moved = conn.execute(
                sa.update(invoices)
                .where(invoices.c.id == sa.bindparam("b_id"), invoices.c.status == DRAFT)
                .values(
                    status=sa.bindparam("b_status"), number=sa.bindparam("b_number"),
                    finalized_at=as_of, due_at=as_of + svc.payment_terms,
                    credits_applied=Decimal(0), total=sa.bindparam("b_total"),
                ),
                params,
            )  # fmt: skip
            if moved.rowcount != len(params):
                # Something finalized one of them anyway: roll back, numbers and all.
                raise RuntimeError("drafts changed while being finalized; run again")
            now = utcnow()
            conn.execute(
                admin_audit.insert(),
                [
                    {"at": now, "actor": actor, "action": "invoice.finalize",
                     "target_type": "invoice", "target": str(p["b_id"]), "before": None,
                     "after": {"number": p["b_number"], "total": str(p["b_total"])}}
                    for p in params
                ],
            )  # fmt: skip
            out += [p["b_id"] for p in params]
    return out
