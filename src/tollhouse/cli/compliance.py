"""`tollhouse holdings` and `tollhouse compliance …`: what an organisation received and what it
had to delete, by when, and whether it did; the agreement's rules evaluated into findings;
canaries."""

from __future__ import annotations

from datetime import date

import typer

from tollhouse.cli.access_service import JSON_OPTION, actor, run
from tollhouse.cli.output import emit, open_engine, open_usage_engine, say, settings, table
from tollhouse.compliance.findings.evaluate import EvaluationResult
from tollhouse.compliance.findings.service import plant_canary, run_evaluation
from tollhouse.compliance.service import ComplianceService
from tollhouse.errors import InvalidInput

app = typer.Typer(
    help="Compliance: obligations and notices; agreement rules → findings with evidence.",
    no_args_is_help=True,
)


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


@app.command("evaluate")
def evaluate_(
    orgs: list[str] = typer.Option([], "--org", help="Only this organisation (repeatable)."),
    from_: str | None = typer.Option(
        None, "--from", help="First UTC day (default: where the last run ended, less 30 days)."
    ),
    to: str | None = typer.Option(None, "--to", help="Day after the last (default: tomorrow)."),
    rules: list[str] = typer.Option([], "--rule", help="Only this rule (repeatable)."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Print what the rules find; change nothing."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Run the rules over [--from, --to) and update the findings (idempotent)."""
    engine = open_engine()
    usage = open_usage_engine(engine)
    try:
        result: EvaluationResult = run(
            lambda: run_evaluation(
                engine, usage, settings(), actor(), orgs, from_, to, rules, dry_run
            ),
            as_json,
        )
    finally:
        engine.dispose()
        if usage is not engine:
            usage.dispose()

    def render() -> None:
        say(
            f"evaluated {len(result.orgs)} organisation(s) over"
            f" {result.start:%Y-%m-%d}..{result.end:%Y-%m-%d}: {result.created} new,"
            f" {result.updated} updated, {result.unchanged} unchanged,"
            f" {result.superseded} superseded"
        )
        if result.by_rule:
            table("findings by rule", ["rule", "findings"], sorted(result.by_rule.items()))

    emit(result.to_dict(), as_json, render)


@app.command()
def canary(
    post_id: int,
    org: str = typer.Option(..., "--org", help="The one organisation it is served to."),
    note: str = typer.Option("", "--note"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Register a synthetic post as an organisation's canary."""
    engine = open_engine()
    try:
        planted = run(lambda: plant_canary(engine, post_id, org, note, actor()), as_json)
    finally:
        engine.dispose()
    emit(planted, as_json, lambda: say(f"post {post_id} is now the canary of {org}"))
