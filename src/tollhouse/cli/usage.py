"""`tollhouse usage`: an organisation's usage from the rollups; `usage prune` for retention."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta
from typing import cast

import typer
from rich.table import Table
from rich.text import Text

from tollhouse.access.licensee_names import LicenseeNames
from tollhouse.cli.output import (
    console,
    fail,
    open_engine,
    open_usage_engine,
    print_json,
    settings,
)
from tollhouse.errors import TollhouseError
from tollhouse.metering.queries import GROUP_BYS, GroupBy, UsageReport
from tollhouse.metering.service import prune_raw_events, usage_report

app = typer.Typer(
    help="Usage (requests, posts, distinct posts, bytes, errors) of an organisation.",
    invoke_without_command=True,
)


def _day(value: str | None, default: date, option: str) -> date:
    if value is None:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} must be a date like 2026-01-31, not {value!r}")


@app.callback()
def usage(
    ctx: typer.Context,
    org: str | None = typer.Option(None, "--org", help="Organisation name."),
    apps: list[str] = typer.Option([], "--app", help="Only this app (repeatable)."),
    from_: str | None = typer.Option(None, "--from", help="First UTC day (default: 30 days ago)."),
    to: str | None = typer.Option(
        None, "--to", help="Day after the last (exclusive; default: tomorrow)."
    ),
    by: str | None = typer.Option(None, "--by", help="Group by app, endpoint, day or hour."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV."),
) -> None:
    """Usage of ORG over the UTC days [--from, --to), optionally per app, endpoint, day, hour.

    Distinct posts are HLL estimates with bounds at 2 standard deviations (about ±3.3 %)."""
    if ctx.invoked_subcommand is not None:
        return
    if org is None:
        fail("--org is required")
    if by is not None and by not in GROUP_BYS:
        fail(f"--by must be one of {', '.join(GROUP_BYS)}")
    if as_json and as_csv:
        fail("choose one of --json and --csv")
    today = datetime.now(UTC).date()
    end = _day(to, today + timedelta(days=1), "--to")
    start = _day(from_, end - timedelta(days=30), "--from")
    engine = open_engine()
    usage = open_usage_engine(engine)
    try:
        group = cast(GroupBy | None, by)
        report = usage_report(
            engine,
            org,
            start,
            end,
            by=group,
            apps=apps,
            usage_engine=usage,
            licensees=LicenseeNames(),
        )
    except TollhouseError as exc:
        fail(str(exc))
    finally:
        engine.dispose()
        usage.dispose()
    if as_json:
        print_json(report.as_dict())
    elif as_csv:
        report.write_csv(sys.stdout)
    else:
        _table(report, org)


def _table(report: UsageReport, org: str) -> None:
    title = f"usage of {org}, [{report.start}, {report.end})" + (
        f" by {report.by}" if report.by else ""
    )
    out = Table(title=title)
    for column in ("", "requests", "posts", "distinct posts [2 sd bounds]", "bytes", "errors"):
        out.add_column(column, justify="left" if not column else "right")
    for row in [*report.rows, report.total]:
        d = row.as_dict()
        distinct = "-"
        if d["distinct_posts"] is not None:
            lower, upper = d["distinct_posts_lower"], d["distinct_posts_upper"]
            distinct = f"{d['distinct_posts']:,} [{lower:,} .. {upper:,}]"
        out.add_row(
            Text(row.key),
            f"{row.requests:,}",
            f"{row.posts:,}",
            distinct,
            f"{row.bytes:,}",
            f"{row.errors:,}",
        )
    console.print(out)
    share = report.corpus_share
    if share is not None:
        console.print(
            f"share of the corpus ({report.corpus_posts:,} posts): {share[0]:.2%} "
            f"[{share[1]:.2%} .. {share[2]:.2%}]",
            markup=False,
        )


@app.command()
def prune(
    days: int | None = typer.Option(
        None, "--days", help="Keep raw events this many days (default: settings)."
    ),
) -> None:
    """Delete raw usage events past retention (rollups and sketches are kept forever)."""
    keep = days if days is not None else settings().raw_event_retention_days
    engine = open_engine()
    usage = open_usage_engine(engine)
    try:
        deleted = prune_raw_events(usage, keep)
    except TollhouseError as exc:
        fail(str(exc))
    finally:
        engine.dispose()
        usage.dispose()
    console.print(f"deleted {deleted:,} raw usage events older than {keep} days", markup=False)


@app.command()
def replay(
    spool_dir: str | None = typer.Option(None, "--spool-dir", help="Default: settings."),
) -> None:
    """Store what dead server processes left in the spool (servers also do this at start)."""
    from pathlib import Path

    from tollhouse.cli.schema_state import require_migrated
    from tollhouse.metering.recorder import replay_spool
    from tollhouse.metering.spool import spool_dir_for

    engine = open_engine()
    usage = open_usage_engine(engine)
    try:
        # Refused even with an empty spool: what it would store has nowhere to go.
        require_migrated(usage)
        base = Path(spool_dir) if spool_dir else settings().spool_dir
        # The spool is named by the main database (writer.UsageRecorder), stored into the usage one.
        report = replay_spool(usage, spool_dir_for(base, engine), directory=engine)
    finally:
        engine.dispose()
        usage.dispose()
    console.print(
        f"{report.segments} segments, {report.events_read} events read, "
        f"{report.events_inserted} new, {report.torn_tails} torn tails ignored",
        markup=False,
    )
