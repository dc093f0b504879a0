"""`tollhouse compliance …`: evaluate the agreement's rules into findings; plant canaries."""

from __future__ import annotations

import typer

from tollhouse.cli.access_service import JSON_OPTION, actor, run
from tollhouse.cli.output import emit, open_engine, open_usage_engine, say, settings, table
from tollhouse.compliance.findings.evaluate import EvaluationResult
from tollhouse.compliance.findings.service import plant_canary, run_evaluation

app = typer.Typer(
    help="Agreement enforcement: rules → findings with evidence.", no_args_is_help=True
)


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
