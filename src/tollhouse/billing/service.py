"""Billing operations over one database: prices, subscriptions, rating runs, invoices, payments,
credits and back-billing.

Each change runs in one transaction that also appends to the admin audit trail. Invariants live
in the database: one invoice per organisation and period and one line per invoice and key
(unique constraints), so two runs at once book the same lines once; a draft is changed only
while an `UPDATE … WHERE status = 'draft'` on its row matches, so a run racing a finalization
cannot touch the finalized invoice; the number comes from a one-row counter updated in the
finalizing transaction, so numbers are gapless and never reused.
"""

from __future__ import annotations

import contextlib
import csv
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Protocol, TextIO

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from tollhouse.access.models import admin_audit
from tollhouse.billing import backbill as audit_math
from tollhouse.billing.deltas import Booked, DeltaLine, deltas
from tollhouse.billing.errors import (
    InvalidAmount,
    InvalidTransition,
    InvoiceNotFound,
    NoPriceInForce,
    PlanChangeBeforeFinalized,
)
from tollhouse.billing.models import (
    billing_accounts,
    billing_prices,
    credit_applications,
    credit_grants,
    credit_notes,
    invoice_lines,
    invoice_numbers,
    invoices,
    payments,
    rating_runs,
    subscriptions,
)
from tollhouse.billing.money import parse_amount, quantize
from tollhouse.billing.organisations import Organisations, OrgRef
from tollhouse.billing.periods import Period, next_period, period_containing, periods_between, zone
from tollhouse.billing.prices import (
    PriceBook,
    PriceVersion,
    check_no_overlap,
    default_price_book,
    parse_instant,
    price_from_dict,
)
from tollhouse.billing.rating import PlanSegment, RatedPeriod, rate_period, segments_in
from tollhouse.billing.usage import UsageSource
from tollhouse.billing.views import (
    BackbillView,
    BalanceView,
    GrantView,
    InvoiceView,
    LineView,
    PaymentView,
    RunSummary,
)
from tollhouse.errors import Conflict, InvalidInput

DRAFT, FINALIZED, PAID, VOID = "draft", "finalized", "paid", "void"
ISSUED = (FINALIZED, PAID)
CORRECTION = "corr|"


class BalanceSink(Protocol):
    """Where prepaid credit goes so the edge can spend it without SQL (limits' counter)."""

    def credit(self, org_id: int, amount: Decimal, post_read: Decimal, user_read: Decimal) -> int:
        """Add `amount` to the organisation's balance, spent at these unit prices."""
        ...


def utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(t: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes for timezone=True columns; they are UTC.
    if t is None:
        return None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _utc(t: datetime) -> datetime:
    out = _aware(t)
    assert out is not None
    return out


def _upsert(conn: Connection, table: sa.Table) -> Any:
    return (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(table)


@dataclass
class BillingService:
    engine: Engine
    usage: UsageSource
    orgs: Organisations
    grace: timedelta = timedelta(hours=24)
    payment_terms: timedelta = timedelta(days=30)
    correction_periods: int = 3  # how many finalized periods back a run looks for late usage
    percent_base: audit_math.PercentBase = "owed"
    balance_sink: BalanceSink | None = None
    now: Callable[[], datetime] = utcnow
    _book: PriceBook | None = field(default=None, repr=False)

    # ---- plumbing ----

    @staticmethod
    def _audit(
        conn: Connection, actor: str, action: str, target_type: str, target: str,
        before: Any = None, after: Any = None,
    ) -> None:  # fmt: skip
        conn.execute(
            admin_audit.insert().values(
                at=utcnow(), actor=actor, action=action, target_type=target_type,
                target=target, before=before, after=after,
            )
        )  # fmt: skip

    # ---- prices ----

    def load_prices(self, versions: Iterable[PriceVersion], actor: str) -> list[str]:
        """Add price versions. An existing version (same plan and start) may only be given an
        end; its amounts never change. Overlaps are refused and nothing is written."""
        versions = list(versions)
        changed: list[str] = []
        with self.engine.begin() as conn:
            rows = conn.execute(sa.select(billing_prices)).mappings().all()
            existing = {(r["plan"], _utc(r["starting_at"])): r for r in rows}
            merged = {k: price_from_dict(r["plan"], r["definition"]) for k, r in existing.items()}
            for v in versions:
                key = (v.plan, v.starting_at)
                old = existing.get(key)
                if old is None:
                    merged[key] = v
                    conn.execute(
                        billing_prices.insert().values(
                            plan=v.plan, starting_at=v.starting_at, ending_before=v.ending_before,
                            definition=v.to_dict(), created_at=utcnow(),
                        )
                    )  # fmt: skip
                    changed.append(f"{v.plan}@{v.starting_at.isoformat()}")
                    continue
                before = merged[key]
                if before == v:
                    continue
                if before.ending_before is None and _same_but_end(before, v):
                    merged[key] = v
                    conn.execute(
                        billing_prices.update()
                        .where(billing_prices.c.id == old["id"])
                        .values(ending_before=v.ending_before, definition=v.to_dict())
                    )
                    changed.append(f"{v.plan}@{v.starting_at.isoformat()}")
                    continue
                raise Conflict(
                    f"plan {v.plan!r}: the price from {v.starting_at.isoformat()} is already "
                    "booked and is kept as it is; add a new version from a later instant"
                )
            check_no_overlap(merged.values())
            if changed:
                self._audit(conn, actor, "billing.load_prices", "prices", ",".join(changed))
        self._book = None
        return changed

    def price_book(self) -> PriceBook:
        if self._book is None:
            with self.engine.connect() as conn:
                rows = conn.execute(sa.select(billing_prices.c.plan, billing_prices.c.definition))
                versions = tuple(price_from_dict(p, d) for p, d in rows)
            if not versions:
                # Another process may install them first.
                with contextlib.suppress(IntegrityError):
                    self.load_prices(default_price_book().versions, "system:default-prices")
                return self.price_book()
            self._book = PriceBook(versions)
        return self._book

    # ---- accounts and subscriptions ----

    def set_time_zone(self, org: str, time_zone: str | None, actor: str) -> dict[str, Any]:
        ref = self.orgs.by_name(org)
        zone(time_zone)
        with self.engine.begin() as conn:
            if self._last_issued_end(conn, ref.id) is not None:
                raise Conflict(f"{org} has finalized invoices; its billing time zone is fixed")
            stmt = _upsert(conn, billing_accounts).values(
                org_id=ref.id, time_zone=time_zone, updated_at=utcnow()
            )
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["org_id"],
                    set_={"time_zone": time_zone, "updated_at": utcnow()},
                )
            )
            self._audit(conn, actor, "billing.set_time_zone", "org", org, after=time_zone)
        return {"org": org, "time_zone": time_zone}

    @staticmethod
    def _time_zone(conn: Connection, org_id: int) -> str | None:
        return conn.execute(
            sa.select(billing_accounts.c.time_zone).where(billing_accounts.c.org_id == org_id)
        ).scalar()

    def _ensure_started(self, conn: Connection, ref: OrgRef) -> None:
        s = subscriptions.c
        if conn.execute(sa.select(s.id).where(s.org_id == ref.id).limit(1)).first() is None:
            try:
                with conn.begin_nested():
                    conn.execute(
                        subscriptions.insert().values(
                            org_id=ref.id, plan=ref.plan, effective_at=ref.created_at,
                            change="start", applied=True, created_at=utcnow(),
                        )
                    )  # fmt: skip
            except IntegrityError:
                pass  # another run started it

    def start(self, org: str, at: datetime, actor: str) -> dict[str, Any]:
        """Date the start of `org`'s subscription to its current plan (default: when the
        organisation was made). Only before anything is rated."""
        ref = self.orgs.by_name(org)
        when = _utc(at)
        with self.engine.begin() as conn:
            s = subscriptions.c
            if conn.execute(sa.select(s.id).where(s.org_id == ref.id).limit(1)).first():
                raise Conflict(f"{org}'s subscription has already started")
            conn.execute(
                subscriptions.insert().values(
                    org_id=ref.id, plan=ref.plan, effective_at=when, change="start",
                    applied=True, created_at=utcnow(),
                )
            )  # fmt: skip
            self._audit(conn, actor, "billing.start", "org", org, after={"plan": ref.plan,
                        "effective_at": when.isoformat()})  # fmt: skip
        return {"org": org, "plan": ref.plan, "change": "start", "effective_at": when.isoformat()}

    @staticmethod
    def _history(conn: Connection, org_id: int) -> list[tuple[datetime, str, str, bool]]:
        s = subscriptions.c
        rows = conn.execute(
            sa.select(s.effective_at, s.plan, s.change, s.applied)
            .where(s.org_id == org_id)
            .order_by(s.effective_at)
        )
        return [(_utc(a), p, c, bool(ap)) for a, p, c, ap in rows]

    @staticmethod
    def _last_issued_end(conn: Connection, org_id: int) -> datetime | None:
        i = invoices.c
        end = conn.execute(
            sa.select(sa.func.max(i.period_end)).where(
                i.org_id == org_id, i.status.in_([*ISSUED, VOID])
            )
        ).scalar()
        return _aware(end)

    def change_plan(
        self, org: str, plan: str, direction: str, actor: str, at: datetime | None = None
    ) -> dict[str, Any]:
        """`upgrade`: in force at `at` (default now), fee prorated to the second; `downgrade`:
        scheduled for the end of the period holding `at`. The direction is stated, never
        inferred from prices."""
        if direction not in ("upgrade", "downgrade"):
            raise InvalidInput("a plan change is an upgrade or a downgrade")
        ref = self.orgs.by_name(org)
        book = self.price_book()
        when = _utc(at) if at is not None else self.now()
        book.in_force(plan, when)  # the plan must have a price then
        with self.engine.begin() as conn:
            self._ensure_started(conn, ref)
            tz = self._time_zone(conn, ref.id)
            effective = when if direction == "upgrade" else (
                period_containing(when, ref.billing_day, tz).end
            )  # fmt: skip
            last = self._last_issued_end(conn, ref.id)
            if last is not None and effective < last:
                raise PlanChangeBeforeFinalized(
                    f"{org}: {effective.isoformat()} is inside a period already invoiced "
                    f"(finalized up to {last.isoformat()}); date the change later"
                )
            history = self._history(conn, ref.id)
            if any(a == effective for a, *_ in history):
                raise Conflict(f"{org} already has a plan change at {effective.isoformat()}")
            applied = direction == "upgrade" and effective <= self.now()
            conn.execute(
                subscriptions.insert().values(
                    org_id=ref.id, plan=plan, effective_at=effective, change=direction,
                    applied=applied, created_at=utcnow(),
                )
            )  # fmt: skip
            self._audit(
                conn, actor, f"billing.{direction}", "org", org,
                before={"plan": ref.plan},
                after={"plan": plan, "effective_at": effective.isoformat()},
            )  # fmt: skip
        if applied:
            self.orgs.set_plan(org, plan, actor)
        return {
            "org": org,
            "plan": plan,
            "change": direction,
            "effective_at": effective.isoformat(),
        }

    def _apply_due_changes(self, ref: OrgRef, as_of: datetime, actor: str) -> int:
        s = subscriptions.c
        with self.engine.begin() as conn:
            due = conn.execute(
                sa.select(s.id, s.plan)
                .where(s.org_id == ref.id, s.applied.is_(False), s.effective_at <= as_of)
                .order_by(s.effective_at)
            ).all()
            for row_id, _ in due:
                conn.execute(subscriptions.update().where(s.id == row_id).values(applied=True))
        if due:
            self.orgs.set_plan(ref.name, due[-1][1], actor)
        return len(due)

    # ---- rating ----

    def rate(
        self, ref: OrgRef, period: Period, history: Sequence[tuple[datetime, str]],
        plan: str | None = None,
    ) -> RatedPeriod:  # fmt: skip
        """The cumulative lines of `period` (at `plan`'s list price when given)."""
        segments = (
            [PlanSegment(period.start, period.end, plan)]
            if plan is not None
            else segments_in(period, history)
        )
        return rate_period(
            period, segments, self.price_book(), lambda a, b: self.usage.read(ref.id, a, b)
        )

    def run(
        self, as_of: datetime | None = None, org: str | None = None, actor: str = "system"
    ) -> RunSummary:
        """Rate every period ended by `as_of`, make or update drafts, finalize drafts past
        their grace."""
        as_of = _utc(as_of) if as_of is not None else self.now()
        refs = [self.orgs.by_name(org)] if org else self.orgs.all()
        from tollhouse.billing.batch import run_all

        return run_all(self, refs, as_of, actor)

    def _periods_to_rate(
        self, ref: OrgRef, as_of: datetime
    ) -> list[tuple[Period, int | None, str | None]]:
        i = invoices.c
        with self.engine.begin() as conn:
            self._ensure_started(conn, ref)
            history = self._history(conn, ref.id)
            tz = self._time_zone(conn, ref.id)
            known = {
                _utc(start): (inv_id, status)
                for inv_id, start, status in conn.execute(
                    sa.select(i.id, i.period_start, i.status).where(i.org_id == ref.id)
                )
            }
        since = history[0][0]
        ended = [p for p in periods_between(since, as_of, ref.billing_day, tz) if p.end <= as_of]
        out: list[tuple[Period, int | None, str | None]] = []
        issued_seen = 0
        for period in reversed(ended):
            inv_id, status = known.get(period.start, (None, None))
            if status in (*ISSUED, VOID):
                issued_seen += 1
                if issued_seen > self.correction_periods:
                    continue
            out.append((period, inv_id, status))
        out.reverse()
        return out

    def _rate_and_book(
        self, ref: OrgRef, period: Period, invoice_id: int | None, status: str | None,
        as_of: datetime,
    ) -> tuple[int, int]:  # fmt: skip
        with self.engine.connect() as conn:
            history = [(a, p) for a, p, _, _ in self._history(conn, ref.id)]
            tz = self._time_zone(conn, ref.id)
        rated = self.rate(ref, period, history)
        for _attempt in range(3):
            try:
                with self.engine.begin() as conn:
                    own = self._invoice_for(conn, ref, period, rated.currency)
                    own_status = conn.execute(
                        sa.select(invoices.c.status).where(invoices.c.id == own)
                    ).scalar_one()
                    booked = self._booked(conn, ref.id, period)
                    wanted = deltas(rated.lines, booked, rated.currency)
                    target: int | None
                    if own_status == DRAFT:
                        target, prefix, corrects = own, "", None
                    else:
                        # A finalized period: late usage goes to the next draft, which is made
                        # only when there is something to correct.
                        prefix, corrects = CORRECTION, own
                        target = self._pending_correction_draft(conn, ref.id, period)
                        if target is None and wanted:
                            following = next_period(period, ref.billing_day, tz)
                            target = self._next_draft(conn, ref, following, rated.currency)
                    if target is not None and not self._hold_draft(conn, target):
                        raise _Retry
                    run_id = conn.execute(
                        rating_runs.insert()
                        .values(
                            org_id=ref.id, period_start=period.start, period_end=period.end,
                            as_of=as_of, usage_state=rated.usage_state(), lines_booked=0,
                            created_at=utcnow(),
                        )
                        .returning(rating_runs.c.id)
                    ).scalar_one()  # fmt: skip
                    if target is None:
                        return 0, own
                    n = self._set_lines(conn, target, period, prefix, corrects, wanted, run_id)
                    conn.execute(
                        rating_runs.update()
                        .where(rating_runs.c.id == run_id)
                        .values(lines_booked=n)
                    )
                    if target == own:
                        self._snapshot(conn, own, ref, rated)
                    self._retotal(conn, target)
                return n, target
            except (_Retry, IntegrityError):
                continue
        raise Conflict(f"{ref.name}: the invoice changed under three rating attempts; run again")

    def _invoice_for(self, conn: Connection, ref: OrgRef, period: Period, currency: str) -> int:
        """The invoice of (org, period), made as a draft if there is none (a unique constraint
        settles two runs making it at once)."""
        i = invoices.c
        found = conn.execute(
            sa.select(i.id).where(i.org_id == ref.id, i.period_start == period.start)
        ).scalar()
        if found is not None:
            return int(found)
        stmt = _upsert(conn, invoices).values(
            org_id=ref.id, period_start=period.start, period_end=period.end, status=DRAFT,
            currency=currency, snapshot={"org": {"id": ref.id, "name": ref.name}},
            subtotal=Decimal(0), credits_applied=Decimal(0), total=Decimal(0),
            created_at=utcnow(), updated_at=utcnow(),
        )  # fmt: skip
        conn.execute(stmt.on_conflict_do_nothing(index_elements=["org_id", "period_start"]))
        return int(
            conn.execute(
                sa.select(i.id).where(i.org_id == ref.id, i.period_start == period.start)
            ).scalar_one()
        )

    def _next_draft(self, conn: Connection, ref: OrgRef, period: Period, currency: str) -> int:
        """The first draft at or after `period` (made for `period` when there is none)."""
        i = invoices.c
        found = conn.execute(
            sa.select(i.id)
            .where(i.org_id == ref.id, i.period_start >= period.start, i.status == DRAFT)
            .order_by(i.period_start)
            .limit(1)
        ).scalar()
        if found is not None:
            return int(found)
        target = self._invoice_for(conn, ref, period, currency)
        status = conn.execute(sa.select(i.status).where(i.id == target)).scalar_one()
        if status != DRAFT:
            return self._next_draft(
                conn, ref, next_period(period, ref.billing_day, self._time_zone(conn, ref.id)),
                currency,
            )  # fmt: skip
        return target

    @staticmethod
    def _pending_correction_draft(conn: Connection, org_id: int, period: Period) -> int | None:
        """The draft already holding corrections for `period`, if any: a rerun updates it
        (down to no lines) rather than starting another."""
        ln, i = invoice_lines.c, invoices.c
        found = conn.execute(
            sa.select(i.id)
            .join(invoice_lines, ln.invoice_id == i.id)
            .where(
                i.org_id == org_id, i.status == DRAFT, ln.service_period_start == period.start,
                ln.line_key.startswith(CORRECTION),
            )
            .limit(1)
        ).scalar()  # fmt: skip
        return None if found is None else int(found)

    @staticmethod
    def _hold_draft(conn: Connection, invoice_id: int) -> bool:
        """Touch the draft's row: on PostgreSQL this locks it against a finalization until
        commit; SQLite's writer lock does the same. False when it is no longer a draft."""
        result = conn.execute(
            invoices.update()
            .where(invoices.c.id == invoice_id, invoices.c.status == DRAFT)
            .values(updated_at=utcnow())
        )
        return result.rowcount == 1

    @staticmethod
    def _booked(conn: Connection, org_id: int, period: Period) -> dict[str, Booked]:
        """What issued (finalized or paid, not void) invoices hold for `period`, per key."""
        ln, i = invoice_lines.c, invoices.c
        rows = conn.execute(
            sa.select(ln.line_key, ln.description, ln.quantity, ln.amount, ln.precise)
            .join(invoices, i.id == ln.invoice_id)
            .where(
                i.org_id == org_id, i.status.in_(ISSUED),
                ln.service_period_start == period.start,
            )
        )  # fmt: skip
        out: dict[str, Booked] = {}
        for key, description, q, amount, precise in rows:
            base = key.removeprefix(CORRECTION)
            have = out.get(base, Booked(Decimal(0), Decimal(0), Decimal(0), description))
            out[base] = Booked(
                have.quantity + q, have.amount + amount, have.precise + precise, have.description
            )
        return out

    @staticmethod
    def _set_lines(
        conn: Connection, invoice_id: int, period: Period, prefix: str, corrects: int | None,
        wanted: Sequence[DeltaLine], run_id: int,
    ) -> int:  # fmt: skip
        """Make the draft's lines for `period` (with `prefix`) exactly `wanted`; how many
        lines changed."""
        ln = invoice_lines.c
        current = {
            r["line_key"]: r
            for r in conn.execute(
                sa.select(invoice_lines).where(
                    ln.invoice_id == invoice_id, ln.service_period_start == period.start
                )
            ).mappings()
            if r["line_key"].startswith(prefix)
            and (prefix or not r["line_key"].startswith(CORRECTION))
        }
        changed = 0
        keep = set()
        base_position = 0 if not prefix else 1000 * (1 + int(period.start.timestamp()) % 997)
        for position, d in enumerate(wanted):
            key = prefix + d.key
            keep.add(key)
            description = d.description
            if prefix:
                description = (
                    f"correction for {period.start.date().isoformat()} to "
                    f"{period.end.date().isoformat()}: {d.description}"
                )
            values = {
                "description": description, "quantity": d.quantity, "unit_price": d.unit_price,
                "amount": d.amount, "precise": d.precise, "position": base_position + position,
                "service_period_end": period.end, "corrects": corrects,
            }  # fmt: skip
            old = current.get(key)
            if old is not None:
                if any(
                    old[k] != v
                    for k, v in values.items()
                    if k not in ("position", "service_period_end")
                ):
                    conn.execute(
                        invoice_lines.update()
                        .where(ln.id == old["id"])
                        .values(run_id=run_id, **values)
                    )
                    changed += 1
                continue
            conn.execute(
                invoice_lines.insert().values(
                    invoice_id=invoice_id, line_key=key, service_period_start=period.start,
                    run_id=run_id, **values,
                )
            )  # fmt: skip
            changed += 1
        stale = [r["id"] for k, r in current.items() if k not in keep]
        if stale:
            conn.execute(invoice_lines.delete().where(ln.id.in_(stale)))
            changed += len(stale)
        return changed

    @staticmethod
    def _snapshot(conn: Connection, invoice_id: int, ref: OrgRef, rated: RatedPeriod) -> None:
        snapshot = {
            "org": {"id": ref.id, "name": ref.name, "billing_day": ref.billing_day},
            "plans": [
                {"plan": s.plan, "start": s.start.isoformat(), "end": s.end.isoformat()}
                for s in rated.segments
            ],
            "prices": [p.to_dict() for p in rated.prices],
            "usage": [r.to_dict() for r in rated.readings],
        }
        conn.execute(invoices.update().where(invoices.c.id == invoice_id).values(snapshot=snapshot))

    @staticmethod
    def _retotal(conn: Connection, invoice_id: int) -> None:
        amounts = conn.execute(
            sa.select(invoice_lines.c.amount).where(invoice_lines.c.invoice_id == invoice_id)
        ).scalars()
        subtotal = sum(amounts, Decimal(0))
        conn.execute(
            invoices.update()
            .where(invoices.c.id == invoice_id)
            .values(subtotal=subtotal, total=subtotal, credits_applied=Decimal(0))
        )

    # ---- invoices ----

    def _finalize_due(self, ref: OrgRef, as_of: datetime, actor: str) -> list[int]:
        i = invoices.c
        with self.engine.connect() as conn:
            due = conn.execute(
                sa.select(i.id, i.period_end)
                .where(i.org_id == ref.id, i.status == DRAFT)
                .order_by(i.period_start)
            ).all()
        out = []
        for invoice_id, end in due:
            due_now = _utc(end) + self.grace <= as_of
            if due_now and self._finalize(invoice_id, actor, as_of) is not None:
                out.append(int(invoice_id))
        return out

    def finalize(self, invoice_id: int, actor: str) -> InvoiceView:
        """Issue a draft now: its number, credits burned, due date; never edited again."""
        with self.engine.connect() as conn:
            status = self._row(conn, invoice_id)["status"]
        if status != DRAFT:
            raise InvalidTransition(f"invoice {invoice_id} is {status}; only a draft is finalized")
        self._finalize(invoice_id, actor, self.now())
        return self.show(invoice_id)

    def _finalize(self, invoice_id: int, actor: str, at: datetime) -> int | None:
        with self.engine.begin() as conn:
            if not self._hold_draft(conn, invoice_id):
                return None  # another process finalized it first
            row = self._row(conn, invoice_id)
            number = conn.execute(
                invoice_numbers.update()
                .where(invoice_numbers.c.id == 1)
                .values(last_number=invoice_numbers.c.last_number + 1)
                .returning(invoice_numbers.c.last_number)
            ).scalar_one()
            subtotal = row["subtotal"]
            applied = self._burn_credits(conn, row["org_id"], invoice_id, subtotal, at)
            conn.execute(
                invoices.update()
                .where(invoices.c.id == invoice_id)
                .values(
                    status=FINALIZED, number=number, finalized_at=at,
                    due_at=at + self.payment_terms, credits_applied=applied,
                    total=subtotal - applied,
                )
            )  # fmt: skip
            if subtotal - applied <= 0:
                conn.execute(
                    invoices.update().where(invoices.c.id == invoice_id).values(status=PAID)
                )
            self._audit(
                conn, actor, "invoice.finalize", "invoice", str(invoice_id),
                after={"number": number, "total": str(subtotal - applied)},
            )  # fmt: skip
            return int(number)

    @staticmethod
    def _row(conn: Connection, invoice_id: int) -> sa.RowMapping:
        row = (
            conn.execute(sa.select(invoices).where(invoices.c.id == invoice_id)).mappings().first()
        )
        if row is None:
            raise InvoiceNotFound(f"no invoice {invoice_id}")
        return row

    def void(self, invoice_id: int, reason: str, actor: str) -> InvoiceView:
        """Void an issued invoice: a credit note for what was paid, credits reinstated."""
        if not reason.strip():
            raise InvalidInput("a void needs a reason")
        with self.engine.begin() as conn:
            row = self._row(conn, invoice_id)
            if row["status"] == DRAFT:
                raise InvalidTransition(
                    f"invoice {invoice_id} is a draft: it was never issued, so it cannot be voided"
                )
            if row["status"] == VOID:
                raise InvalidTransition(f"invoice {invoice_id} is already void")
            paid = self._paid(conn, invoice_id)
            if paid > 0:
                conn.execute(
                    credit_notes.insert().values(
                        invoice_id=invoice_id, amount=paid, reason=reason, created_at=utcnow()
                    )
                )
            reinstated = self._applied_credits(conn, invoice_id)
            conn.execute(
                credit_applications.delete().where(credit_applications.c.invoice_id == invoice_id)
            )
            conn.execute(
                invoices.update()
                .where(invoices.c.id == invoice_id)
                .values(status=VOID, voided_at=utcnow(), void_reason=reason)
            )
            self._audit(
                conn, actor, "invoice.void", "invoice", str(invoice_id),
                before={"status": row["status"]},
                after={"reason": reason, "credit_note": str(paid)},
            )  # fmt: skip
        if reinstated:
            org_name = (row["snapshot"] or {}).get("org", {}).get("name")
            if org_name:
                self._feed(self.orgs.by_name(org_name), reinstated)
        return self.show(invoice_id)

    def _feed(self, ref: OrgRef, amount: Decimal) -> None:
        """Tell the edge's balance, with the pay-per-use prices in force now."""
        if self.balance_sink is None:
            return
        try:
            price = self.price_book().in_force(ref.plan, self.now())
            post, user = price.post_read or Decimal(0), price.user_read or Decimal(0)
        except NoPriceInForce:
            post = user = Decimal(0)
        self.balance_sink.credit(ref.id, amount, post, user)

    def show(self, invoice_id: int) -> InvoiceView:
        with self.engine.connect() as conn:
            row = self._row(conn, invoice_id)
            return self._view(conn, row)

    def invoices(self, org: str | None = None, status: str | None = None) -> list[InvoiceView]:
        i = invoices.c
        stmt = sa.select(invoices).order_by(i.period_start, i.id)
        if org is not None:
            stmt = stmt.where(i.org_id == self.orgs.by_name(org).id)
        with self.engine.connect() as conn:
            views = [self._view(conn, r) for r in conn.execute(stmt).mappings()]
        if status is not None:
            if status not in (DRAFT, FINALIZED, PAID, VOID, "overdue"):
                raise InvalidInput(
                    f"unknown status {status!r} (draft, finalized, paid, overdue, void)"
                )
            views = [v for v in views if v.status == status]
        return views

    def _view(self, conn: Connection, row: sa.RowMapping) -> InvoiceView:
        ln = invoice_lines.c
        lines = tuple(
            LineView(
                r["description"], r["quantity"], r["unit_price"], r["amount"],
                _utc(r["service_period_start"]), _utc(r["service_period_end"]), r["corrects"],
                r["line_key"],
            )
            for r in conn.execute(
                sa.select(invoice_lines)
                .where(ln.invoice_id == row["id"])
                .order_by(ln.service_period_start, ln.position, ln.id)
            ).mappings()
        )  # fmt: skip
        status = row["status"]
        due = _aware(row["due_at"])
        if status == FINALIZED and due is not None and self.now() > due:
            status = "overdue"
        snapshot = row["snapshot"] or {}
        return InvoiceView(
            id=row["id"], number=row["number"],
            org=(snapshot.get("org") or {}).get("name", str(row["org_id"])), status=status,
            currency=row["currency"], period_start=_utc(row["period_start"]),
            period_end=_utc(row["period_end"]), lines=lines, subtotal=row["subtotal"],
            credits_applied=row["credits_applied"], total=row["total"],
            paid=self._paid(conn, row["id"]), due_at=due,
            finalized_at=_aware(row["finalized_at"]), void_reason=row["void_reason"],
            snapshot=snapshot,
        )  # fmt: skip

    # ---- payments ----

    @staticmethod
    def _paid(conn: Connection, invoice_id: int) -> Decimal:
        amounts = conn.execute(
            sa.select(payments.c.amount).where(payments.c.invoice_id == invoice_id)
        ).scalars()
        return sum(amounts, Decimal(0))

    def record_payment(
        self, invoice_id: int, amount: Any, actor: str, at: datetime | None = None,
        reference: str | None = None,
    ) -> PaymentView:  # fmt: skip
        value = parse_amount(amount, "payment amount")
        if value == 0:
            raise InvalidAmount("a payment must be more than zero")
        when = _utc(at) if at is not None else self.now()
        with self.engine.begin() as conn:
            row = self._row(conn, invoice_id)
            if row["status"] == DRAFT:
                raise InvalidTransition(f"invoice {invoice_id} is a draft; finalize it first")
            if row["status"] == VOID:
                raise InvalidTransition(f"invoice {invoice_id} is void; it cannot be paid")
            if value != quantize(value, row["currency"]):
                raise InvalidAmount(f"{value} has more decimals than {row['currency']} allows")
            try:
                with conn.begin_nested():
                    payment_id = conn.execute(
                        payments.insert()
                        .values(
                            invoice_id=invoice_id, amount=value, paid_at=when,
                            reference=reference, created_at=utcnow(),
                        )
                        .returning(payments.c.id)
                    ).scalar_one()  # fmt: skip
            except IntegrityError:
                raise Conflict(
                    f"invoice {invoice_id} already has a payment with reference {reference!r}"
                ) from None
            status = row["status"]
            if self._paid(conn, invoice_id) >= row["total"]:
                status = PAID
                conn.execute(
                    invoices.update().where(invoices.c.id == invoice_id).values(status=PAID)
                )
            self._audit(
                conn, actor, "payment.record", "invoice", str(invoice_id),
                after={"amount": str(value), "reference": reference, "at": when.isoformat()},
            )  # fmt: skip
        return PaymentView(payment_id, invoice_id, value, when, reference, status)

    def import_payments(self, source: TextIO, actor: str) -> list[PaymentView]:
        """A CSV with columns invoice_id, amount, paid_at, reference. Every row is checked
        before any is recorded; a row already recorded (same invoice and reference) is
        skipped, so a statement imported twice records each payment once."""
        rows = list(csv.DictReader(source))
        parsed = []
        for n, r in enumerate(rows, start=2):
            try:
                invoice_id = int(r["invoice_id"])
                value = parse_amount(r["amount"], f"line {n} amount")
                at = parse_instant(r["paid_at"], f"line {n} paid_at") if r.get("paid_at") else None
            except (KeyError, ValueError, TypeError) as exc:
                raise InvalidInput(
                    f"line {n}: needs invoice_id, amount, paid_at, reference ({exc})"
                ) from None
            parsed.append((invoice_id, value, at, (r.get("reference") or "").strip() or None))
        out = []
        for invoice_id, value, at, reference in parsed:
            try:
                out.append(self.record_payment(invoice_id, value, actor, at, reference))
            except Conflict:
                continue
        return out

    # ---- credits ----

    def grant(
        self, org: str, amount: Any, actor: str, priority: int = 10,
        expires_at: datetime | None = None, currency: str = "USD",
    ) -> GrantView:  # fmt: skip
        value = parse_amount(amount, "credit amount")
        if value == 0:
            raise InvalidAmount("a grant must be more than zero")
        if value != quantize(value, currency):
            raise InvalidAmount(f"{value} has more decimals than {currency} allows")
        if isinstance(priority, bool) or not isinstance(priority, int) or priority < 0:
            raise InvalidInput("priority must be a whole number ≥ 0 (lower burns first)")
        ref = self.orgs.by_name(org)
        now = self.now()
        if expires_at is not None and _utc(expires_at) <= now:
            raise InvalidInput("a grant must expire in the future")
        with self.engine.begin() as conn:
            grant_id = conn.execute(
                credit_grants.insert()
                .values(
                    org_id=ref.id, amount=value, currency=currency, priority=priority,
                    expires_at=expires_at, granted_at=now,
                )
                .returning(credit_grants.c.id)
            ).scalar_one()  # fmt: skip
            self._audit(
                conn, actor, "credits.grant", "org", org,
                after={"grant": grant_id, "amount": str(value), "priority": priority},
            )  # fmt: skip
        self._feed(ref, value)
        return GrantView(grant_id, org, value, value, currency, priority, expires_at, now)

    def _grants(
        self, conn: Connection, org_id: int, at: datetime
    ) -> list[tuple[sa.RowMapping, Decimal]]:
        """Live grants in burn order (priority, then earlier expiry, then older) with what is
        left of each."""
        g, a = credit_grants.c, credit_applications.c
        spent: dict[int, Decimal] = {}
        for grant_id, amount in conn.execute(
            sa.select(a.grant_id, a.amount)
            .join(credit_grants, g.id == a.grant_id)
            .where(g.org_id == org_id)
        ):
            spent[grant_id] = spent.get(grant_id, Decimal(0)) + amount
        live = []
        for row in conn.execute(sa.select(credit_grants).where(g.org_id == org_id)).mappings():
            expires = _aware(row["expires_at"])
            if expires is not None and expires <= at:
                continue
            left = row["amount"] - spent.get(row["id"], Decimal(0))
            if left > 0:
                live.append((row, left))
        far = datetime.max.replace(tzinfo=UTC)
        live.sort(
            key=lambda x: (x[0]["priority"], _aware(x[0]["expires_at"]) or far,
                           _utc(x[0]["granted_at"]), x[0]["id"])
        )  # fmt: skip
        return live

    def _burn_credits(
        self, conn: Connection, org_id: int, invoice_id: int, amount: Decimal, at: datetime
    ) -> Decimal:
        applied = Decimal(0)
        if amount <= 0:
            return applied
        for row, left in self._grants(conn, org_id, at):
            take = min(left, amount - applied)
            if take <= 0:
                break
            conn.execute(
                credit_applications.insert().values(
                    grant_id=row["id"], invoice_id=invoice_id, amount=take, applied_at=at
                )
            )
            applied += take
        return applied

    @staticmethod
    def _applied_credits(conn: Connection, invoice_id: int) -> Decimal:
        return sum(
            conn.execute(
                sa.select(credit_applications.c.amount).where(
                    credit_applications.c.invoice_id == invoice_id
                )
            ).scalars(),
            Decimal(0),
        )

    def balance(self, org: str, at: datetime | None = None) -> BalanceView:
        ref = self.orgs.by_name(org)
        when = _utc(at) if at is not None else self.now()
        with self.engine.connect() as conn:
            live = self._grants(conn, ref.id, when)
        grants = tuple(
            GrantView(r["id"], org, r["amount"], left, r["currency"], r["priority"],
                      _aware(r["expires_at"]), _utc(r["granted_at"]))
            for r, left in live
        )  # fmt: skip
        return BalanceView(org, "USD", sum((g.remaining for g in grants), Decimal(0)), grants)

    # ---- back-billing ----

    def backbill(
        self, org: str, start: date, end: date, at_plan: str | None = None,
        closed_on: date | None = None,
    ) -> BackbillView:  # fmt: skip
        """Rate what `org` used in the periods overlapping `[start, end)` at `at_plan`'s list
        price (default: the plans it was on), against what it was invoiced and paid."""
        if end <= start:
            raise InvalidInput("the back-billing range must end after it starts")
        ref = self.orgs.by_name(org)
        if at_plan is not None:
            self.price_book().in_force(at_plan, datetime.combine(start, time(0), UTC))
        with self.engine.begin() as conn:
            self._ensure_started(conn, ref)
            history = [(a, p) for a, p, _, _ in self._history(conn, ref.id)]
            tz = self._time_zone(conn, ref.id)
        lo = datetime.combine(start, time(0), UTC)
        hi = datetime.combine(end, time(0), UTC)
        rated_total = invoiced_total = paid_total = Decimal(0)
        currency = "USD"
        lines = []
        i = invoices.c
        for period in periods_between(lo, hi, ref.billing_day, tz):
            rated = self.rate(ref, period, history, at_plan)
            currency = rated.currency
            amount = sum((quantize(x.precise, currency) for x in rated.lines), Decimal(0))
            with self.engine.connect() as conn:
                row = conn.execute(
                    sa.select(i.id, i.subtotal, i.status).where(
                        i.org_id == ref.id, i.period_start == period.start
                    )
                ).first()
                invoiced = paid = Decimal(0)
                if row is not None and row.status in ISSUED:
                    invoiced = row.subtotal
                    paid = self._paid(conn, row.id) + self._applied_credits(conn, row.id)
            rated_total += amount
            invoiced_total += invoiced
            paid_total += paid
            lines.append(
                {
                    "period_start": period.start.isoformat(), "period_end": period.end.isoformat(),
                    "plan": at_plan or ",".join(sorted({s.plan for s in rated.segments})),
                    "rated": str(amount), "invoiced": str(invoiced), "paid": str(paid),
                    "posts": sum(r.posts for r in rated.readings),
                }
            )  # fmt: skip
        result = audit_math.underpayment(
            rated_total, invoiced_total, paid_total, closed_on or self.now().date(), currency,
            self.percent_base,
        )  # fmt: skip
        return BackbillView(
            org, at_plan, currency, start, end, result.rated, result.invoiced, result.paid,
            result.underpayment, result.underpayment_pct, result.audit_cost_due, result.due_date,
            tuple(lines),
        )  # fmt: skip


class _Retry(Exception):
    """The draft a run meant to update was finalized meanwhile: rate again."""


def _same_but_end(a: PriceVersion, b: PriceVersion) -> bool:
    da, db = a.to_dict(), b.to_dict()
    da.pop("ending_before")
    db.pop("ending_before")
    return da == db
