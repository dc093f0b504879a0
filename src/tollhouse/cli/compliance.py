"""`tollhouse holdings` and `tollhouse compliance …`: what an organisation received and
what it had to delete, by when, and whether it did."""

from __future__ import annotations

from datetime import date

import typer

from tollhouse.cli.access_service import JSON_OPTION, actor, run
from tollhouse.cli.output import emit, open_engine, open_usage_engine, say, table
from tollhouse.compliance.service import ComplianceService
from tollhouse.errors import InvalidInput

app = typer.Typer(help="Deletion compliance: obligations and notices.", no_args_is_help=True)


def _service() -> ComplianceService:
    engine = open_engine()
    return ComplianceService(engine, open_usage_engine(engine))


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{name} must be a date (YYYY-MM-DD), not {value!r}") from None


def holdings(
    org: str = typer.Option(..., "--org"),
    app_name: str | None = typer.Option(None, "--app", help="Only what this app received."),
    from_: str | None = typer.Option(None, "--from", help="First UTC day (YYYY-MM-DD)."),
    to: str | None = typer.Option(None, "--to", help="Day after the last (exclusive)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """What an organisation holds: distinct posts and users received, what has since been
    removed, obligations by status, posts by creation month."""
    report = run(
        lambda: _service().holdings(org, app_name, _day(from_, "--from"), _day(to, "--to")),
        as_json,
    )
    data = report.as_dict()

    def render() -> None:
        say(
            f"{org}: {report.distinct_posts:,} distinct posts, {report.distinct_users:,} distinct"
            f" users received; since removed: {report.removed_posts:,} posts,"
            f" {report.removed_users:,} users"
        )
        say("obligations: " + ", ".join(f"{k} {v}" for k, v in report.obligations.items()))
        table(
            "by creation month",
            ("month", "posts", "removed"),
            [(m, v["posts"], v["removed"]) for m, v in report.by_month.items()],
        )

    emit(data, as_json, render)


@app.command()
def obligations(
    org: str = typer.Option(..., "--org"),
    status: str | None = typer.Option(None, "--status", help="open, met, late or no_notice"),
    as_json: bool = JSON_OPTION,
) -> None:
    """An organisation's obligations with their times."""
    found = run(lambda: _service().obligations(org, status), as_json)
    rows = [o.as_dict() for o in found]
    emit(
        {"data": rows},
        as_json,
        lambda: table(
            f"obligations of {org}",
            ("id", "event", "event_at", "notice_at", "deadline", "evidence_at", "status"),
            [
                (
                    r["id"],
                    r["event"],
                    r["event_at"],
                    r["notice_at"],
                    r["deadline"],
                    r["evidence_at"],
                    r["status"],
                )
                for r in rows
            ],
        ),
    )


@app.command()
def notify(
    org: str = typer.Option(..., "--org"),
    keys: list[str] = typer.Option(
        None, "--key", help="An obligation's key (repeatable); default: all without notice."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Record that the operator told an organisation (its deadlines start now)."""
    new = run(lambda: _service().notify(org, keys or None, actor()), as_json)
    emit({"notices": new}, as_json, lambda: say(f"{new} notices recorded for {org}"))
