"""`tollhouse billing …`, `invoices …`, `payments …`, `credits …`: rating, invoices, payments,
prepaid credits and back-billing. Every change lands in the admin audit trail."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import typer

from tollhouse.billing.organisations import AccessOrganisations
from tollhouse.billing.prices import parse_instant, parse_price_book
from tollhouse.billing.render import FORMATS, render
from tollhouse.billing.service import BillingService
from tollhouse.billing.usage import RollupUsage
from tollhouse.billing.views import InvoiceView
from tollhouse.cli.access_service import JSON_OPTION, actor, run, service
from tollhouse.cli.output import emit, open_usage_engine, say, settings, table
from tollhouse.cli.schema_state import require_migrated
from tollhouse.errors import InvalidInput
from tollhouse.limits.balance import RedisBalances

app = typer.Typer(
    help="Rate usage into invoices; plan changes; back-billing.", no_args_is_help=True
)
invoices = typer.Typer(help="Invoices: list, show, finalize, void, render.", no_args_is_help=True)
payments = typer.Typer(help="Payments against invoices.", no_args_is_help=True)
credits = typer.Typer(help="Prepaid credit grants and balances.", no_args_is_help=True)


def billing() -> BillingService:
    access = service()
    require_migrated(access.engine)
    sink = None
    config = settings()
    if config.limits_url.startswith(("redis://", "rediss://")):
        # Grants reach the gateways' shared balance at once; a memory:// balance lives in the
        # server process and is fed by the admin API instead.
        sink = RedisBalances(config.limits_url, config.limits_key_prefix)
    return BillingService(
        access.engine,
        RollupUsage(open_usage_engine(access.engine)),
        AccessOrganisations(access),
        balance_sink=sink,
    )


def _instant(value: str | None, what: str) -> datetime | None:
    return None if value is None else parse_instant(value, what)


def _day(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{what} {value!r} is not a date (YYYY-MM-DD)") from None


def _invoice_line(v: InvoiceView) -> None:
    number = v.number if v.number is not None else "-"
    say(
        f"invoice {v.id} (no. {number}) {v.org} {v.period_start.isoformat()} → "
        f"{v.period_end.isoformat()}: {v.status}, total {v.total} {v.currency}"
    )


def _invoice_detail(v: InvoiceView) -> None:
    _invoice_line(v)
    for line in v.lines:
        corrects = f" [corrects invoice {line.corrects}]" if line.corrects else ""
        say(f"  {line.description}: {line.quantity} x {line.unit_price} = {line.amount}{corrects}")
    say(f"  subtotal {v.subtotal}, credits applied {v.credits_applied}, total {v.total}")


# ---- billing ----


@app.command("run")
def run_(
    org: str | None = typer.Option(None, "--org", help="Only this organisation."),
    as_of: str | None = typer.Option(None, "--as-of", help="ISO 8601 instant (default now)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Rate every period ended by AS_OF, make or update drafts, finalize drafts past grace."""
    summary = run(lambda: billing().run(_instant(as_of, "--as-of"), org, actor()), as_json)
    emit(
        summary.to_dict(),
        as_json,
        lambda: say(
            f"rated {summary.rated_periods} period(s), {summary.lines_booked} line(s) booked, "
            f"{len(summary.finalized)} invoice(s) finalized"
            + "".join(f"\nskipped {why}" for why in summary.skipped)
        ),
    )


@app.command()
def backbill(
    org: str = typer.Option(..., "--org"),
    from_: str = typer.Option(..., "--from", help="First day (YYYY-MM-DD)."),
    to: str = typer.Option(..., "--to", help="Day after the last (YYYY-MM-DD)."),
    at_plan: str | None = typer.Option(None, "--at-plan", help="Rate at this plan's list price."),
    as_json: bool = JSON_OPTION,
) -> None:
    """What ORG used over [FROM, TO), rated, against what it was invoiced and paid."""
    result = run(
        lambda: billing().backbill(org, _day(from_, "--from"), _day(to, "--to"), at_plan),
        as_json,
    )
    emit(
        result.to_dict(),
        as_json,
        lambda: say(
            f"{org}: rated {result.rated}, invoiced {result.invoiced}, paid {result.paid}, "
            f"underpayment {result.underpayment} ({result.underpayment_pct} %), audit cost "
            f"{'due' if result.audit_cost_due else 'not due'}, due {result.due_date}"
        ),
    )


def _change(direction: str, org: str, plan: str, at: str | None, as_json: bool) -> None:
    change = run(
        lambda: billing().change_plan(org, plan, direction, actor(), _instant(at, "--at")),
        as_json,
    )
    emit(change, as_json, lambda: say(f"{org}: {direction} to {plan} at {change['effective_at']}"))


@app.command()
def upgrade(
    org: str, plan: str, at: str | None = typer.Option(None, "--at"), as_json: bool = JSON_OPTION
) -> None:
    """Move ORG to PLAN at once (default now); the fee is prorated to the second."""
    _change("upgrade", org, plan, at, as_json)


@app.command()
def downgrade(
    org: str, plan: str, at: str | None = typer.Option(None, "--at"), as_json: bool = JSON_OPTION
) -> None:
    """Move ORG to PLAN at the end of the period holding AT (default now)."""
    _change("downgrade", org, plan, at, as_json)


@app.command()
def start(org: str, at: str = typer.Option(..., "--at"), as_json: bool = JSON_OPTION) -> None:
    """Date the start of ORG's subscription (before anything is rated)."""
    result = run(
        lambda: billing().start(org, _instant(at, "--at") or datetime.min, actor()), as_json
    )
    emit(result, as_json, lambda: say(f"{org}: {result['plan']} from {result['effective_at']}"))


@app.command("time-zone")
def time_zone(org: str, zone: str, as_json: bool = JSON_OPTION) -> None:
    """Bill ORG's periods from local midnight in ZONE (an IANA name; UTC for none)."""
    result = run(
        lambda: billing().set_time_zone(org, None if zone == "UTC" else zone, actor()), as_json
    )
    emit(result, as_json, lambda: say(f"{org}: billing periods in {zone}"))


@app.command("load-prices")
def load_prices(
    path: Path | None = typer.Argument(None, help="A plans.toml (default: the shipped one)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Add the price versions of a plans.toml's [[plans.NAME.prices]] tables."""

    def load() -> list[str]:
        svc = billing()
        if path is None:
            from tollhouse.billing.prices import default_price_book

            return svc.load_prices(default_price_book().versions, actor())
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(f"cannot read {path}: {exc.strerror}") from exc
        return svc.load_prices(parse_price_book(text).versions, actor())

    changed = run(load, as_json)
    emit({"changed": changed}, as_json, lambda: say(f"{len(changed)} price version(s) added"))


@app.command()
def prices(as_json: bool = JSON_OPTION) -> None:
    """Every price version in the book."""
    book = run(lambda: billing().price_book(), as_json)
    rows = [v.to_dict() for v in book.versions]
    emit(
        rows,
        as_json,
        lambda: table(
            "prices",
            ["plan", "from", "before", "fee", "included posts"],
            [
                (
                    r["plan"],
                    r["starting_at"],
                    r["ending_before"],
                    r["monthly_fee"],
                    r["included_posts"],
                )
                for r in rows
            ],
        ),
    )


# ---- invoices ----


@invoices.command("list")
def list_(
    org: str | None = typer.Option(None, "--org"),
    status: str | None = typer.Option(None, "--status"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Invoices, oldest period first."""
    found = run(lambda: billing().invoices(org, status), as_json)

    def render_table() -> None:
        table(
            "invoices",
            ["id", "number", "org", "period start", "status", "total"],
            [(v.id, v.number, v.org, v.period_start.isoformat(), v.status, v.total) for v in found],
        )

    emit([v.to_dict() for v in found], as_json, render_table)


@invoices.command()
def show(invoice_id: int, as_json: bool = JSON_OPTION) -> None:
    """One invoice with its lines."""
    v = run(lambda: billing().show(invoice_id), as_json)
    emit(v.to_dict(), as_json, lambda: _invoice_detail(v))


@invoices.command()
def finalize(invoice_id: int, as_json: bool = JSON_OPTION) -> None:
    """Issue a draft now: it gets its number and is never edited again."""
    v = run(lambda: billing().finalize(invoice_id, actor()), as_json)
    emit(v.to_dict(), as_json, lambda: _invoice_line(v))


@invoices.command()
def void(
    invoice_id: int, reason: str = typer.Option(..., "--reason"), as_json: bool = JSON_OPTION
) -> None:
    """Void an issued invoice (a credit note for what was paid)."""
    v = run(lambda: billing().void(invoice_id, reason, actor()), as_json)
    emit(v.to_dict(), as_json, lambda: _invoice_line(v))


@invoices.command("render")
def render_(
    invoice_id: int,
    fmt: str = typer.Option(..., "--format", help="html, pdf, json or csv."),
    out: Path = typer.Option(..., "--out", help="Where to write it."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Write an invoice as HTML, PDF, JSON or CSV."""

    def make() -> int:
        if fmt not in FORMATS:
            raise InvalidInput(f"unknown format {fmt!r} (html, pdf, json or csv)")
        data = render(billing().show(invoice_id), fmt)
        try:
            out.write_bytes(data)
        except OSError as exc:
            raise InvalidInput(f"cannot write {out}: {exc.strerror}") from exc
        return len(data)

    size = run(make, as_json)
    emit(
        {"invoice_id": invoice_id, "format": fmt, "out": str(out), "bytes": size},
        as_json,
        lambda: say(f"wrote {out} ({size} bytes)"),
    )


# ---- payments ----


@payments.command()
def record(
    invoice_id: int,
    amount: str = typer.Option(..., "--amount", help="A decimal amount, e.g. 5000.00."),
    at: str | None = typer.Option(None, "--at", help="When it was paid (default now)."),
    reference: str | None = typer.Option(None, "--reference"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Record a payment against an issued invoice."""
    p = run(
        lambda: billing().record_payment(
            invoice_id, amount, actor(), _instant(at, "--at"), reference
        ),
        as_json,
    )
    emit(
        p.to_dict(),
        as_json,
        lambda: say(f"payment {p.id}: {p.amount} on invoice {invoice_id}, now {p.invoice_status}"),
    )


@payments.command("import")
def import_(path: Path, as_json: bool = JSON_OPTION) -> None:
    """Record payments from a CSV (invoice_id, amount, paid_at, reference)."""

    def load() -> list[dict[str, object]]:
        try:
            with path.open(encoding="utf-8", newline="") as f:
                return [p.to_dict() for p in billing().import_payments(f, actor())]
        except OSError as exc:
            raise InvalidInput(f"cannot read {path}: {exc.strerror}") from exc

    recorded = run(load, as_json)
    emit(recorded, as_json, lambda: say(f"{len(recorded)} payment(s) recorded"))


# ---- credits ----


@credits.command()
def grant(
    org: str = typer.Option(..., "--org"),
    amount: str = typer.Option(..., "--amount"),
    priority: int = typer.Option(10, "--priority", help="Lower burns first."),
    expires: str | None = typer.Option(None, "--expires", help="ISO 8601 instant."),
    currency: str = typer.Option("USD", "--currency"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Grant prepaid credit to ORG."""
    g = run(
        lambda: billing().grant(
            org, amount, actor(), priority, _instant(expires, "--expires"), currency.upper()
        ),
        as_json,
    )
    emit(g.to_dict(), as_json, lambda: say(f"grant {g.id}: {g.amount} {g.currency} to {org}"))


@credits.command()
def balance(org: str = typer.Option(..., "--org"), as_json: bool = JSON_OPTION) -> None:
    """What is left of ORG's live grants, in burn order."""
    b = run(lambda: billing().balance(org), as_json)

    def show_balance() -> None:
        say(f"{org}: {b.balance} {b.currency}")
        for g in b.grants:
            say(
                f"  grant {g.id}: {g.remaining} of {g.amount}, priority {g.priority}, "
                f"expires {g.expires_at or 'never'}"
            )

    emit(b.to_dict(), as_json, show_balance)
