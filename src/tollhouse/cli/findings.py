"""`tollhouse findings …`: the findings register — list, show, ack, resolve, dismiss."""

from __future__ import annotations

import typer

from tollhouse.cli.access_service import JSON_OPTION, actor, run
from tollhouse.cli.output import emit, open_engine, print_json, say, table
from tollhouse.compliance.findings.finding import Finding
from tollhouse.compliance.findings.service import list_findings, move_finding, show_finding

app = typer.Typer(help="Compliance findings and their lifecycle.", no_args_is_help=True)


def _line(f: Finding) -> str:
    where = f.app or "-"
    return (
        f"finding {f.id} [{f.status}] {f.rule} {f.grade}/{f.severity} {f.org} app {where}"
        f" {f.period_start:%Y-%m-%d}..{f.period_end:%Y-%m-%d} ({f.clause})"
    )


def _row(f: Finding) -> tuple[object, ...]:
    period = f"{f.period_start:%Y-%m-%d}..{f.period_end:%Y-%m-%d}"
    return (f.id, f.status, f.rule, f.grade, f.severity, f.org, f.app, period, f.clause)


@app.command("list")
def list_(
    org: str | None = typer.Option(None, "--org"),
    rule: str | None = typer.Option(None, "--rule"),
    status: str | None = typer.Option(None, "--status"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Findings, newest first."""
    engine = open_engine()
    try:
        found = run(lambda: list_findings(engine, org, rule, status), as_json)
    finally:
        engine.dispose()
    emit(
        [f.to_dict() for f in found],
        as_json,
        lambda: table(
            "findings",
            ["id", "status", "rule", "grade", "severity", "org", "app", "period", "clause"],
            [_row(f) for f in found],
        ),
    )


@app.command()
def show(finding_id: str, as_json: bool = JSON_OPTION) -> None:
    """One finding with its evidence."""
    engine = open_engine()
    try:
        found = run(lambda: show_finding(engine, finding_id), as_json)
    finally:
        engine.dispose()
    if as_json:
        print_json(found.to_dict())
        return
    say(_line(found))
    print_json(found.evidence)


def _move(action: str, finding_id: str, reason: str, as_json: bool) -> None:
    engine = open_engine()
    try:
        moved = run(lambda: move_finding(engine, finding_id, action, reason, actor()), as_json)
    finally:
        engine.dispose()
    emit(moved.to_dict(), as_json, lambda: say(_line(moved)))


REASON = typer.Option(..., "--reason", help="Why (recorded in the audit trail).")


@app.command()
def ack(finding_id: str, reason: str = REASON, as_json: bool = JSON_OPTION) -> None:
    """Acknowledge an open finding."""
    _move("ack", finding_id, reason, as_json)


@app.command()
def resolve(finding_id: str, reason: str = REASON, as_json: bool = JSON_OPTION) -> None:
    """Resolve an open or acknowledged finding."""
    _move("resolve", finding_id, reason, as_json)


@app.command()
def dismiss(finding_id: str, reason: str = REASON, as_json: bool = JSON_OPTION) -> None:
    """Dismiss an open or acknowledged finding (not a violation)."""
    _move("dismiss", finding_id, reason, as_json)
