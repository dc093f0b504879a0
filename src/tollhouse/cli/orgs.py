"""`tollhouse orgs …`: licensee organisations."""

from __future__ import annotations

import typer

from tollhouse.access.service import OrgView
from tollhouse.cli.access_service import JSON_OPTION, actor, run, service
from tollhouse.cli.output import emit, say, table

app = typer.Typer(help="Licensee organisations.", no_args_is_help=True)


def _line(org: OrgView) -> None:
    accepted = "accepted" if org.agreement_accepted else "NOT accepted"
    say(
        f"{org.name}: plan {org.plan}, {org.status}"
        + (f" ({org.status_reason})" if org.status_reason else "")
        + f", billing day {org.billing_day}, agreement {org.agreement_current or '-'} {accepted}"
    )


@app.command()
def create(
    name: str = typer.Argument(..., help="Organisation name (unique)."),
    plan: str = typer.Option(..., "--plan", help="Plan name, e.g. pro."),
    billing_day: int = typer.Option(1, "--billing-day", min=1, max=28),
    contact: list[str] = typer.Option([], "--contact", help="A contact (repeatable)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Create an organisation on PLAN."""
    org = run(lambda: service().create_org(name, plan, actor(), billing_day, contact), as_json)
    emit(org.to_dict(), as_json, lambda: _line(org))


@app.command("list")
def list_(as_json: bool = JSON_OPTION) -> None:
    """All organisations."""
    orgs = run(lambda: service().list_orgs(), as_json)
    emit(
        [o.to_dict() for o in orgs],
        as_json,
        lambda: table(
            "organisations",
            ["name", "plan", "status", "billing day", "agreement accepted"],
            [(o.name, o.plan, o.status, o.billing_day, o.agreement_accepted) for o in orgs],
        ),
    )


@app.command()
def show(name: str, as_json: bool = JSON_OPTION) -> None:
    """One organisation with its apps, keys (ids only), end users and acceptances."""
    org = run(lambda: service().show_org(name), as_json)

    def render() -> None:
        _line(org)
        for a in org.acceptances:
            say(f"  accepted agreement {a.version} by {a.accepted_by} at {a.accepted_at}")
        for app_ in org.apps:
            say(f"  app {app_.name} [{app_.status}] use cases: {', '.join(app_.use_cases)}")
        for k in org.keys:
            say(f"  key {k.id} ({k.app}) {k.status}")
        for e in org.end_users:
            approved = "approved" if e.approved else "not approved"
            say(f"  end user #{e.id} {e.name} [{e.sector}, {e.country}] {approved}")

    emit(org.to_dict(detail=True), as_json, render)


@app.command()
def suspend(
    name: str,
    reason: str = typer.Option(..., "--reason", help="Why (recorded in the audit trail)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Suspend an organisation: its keys stop working within a second."""
    org = run(lambda: service().suspend_org(name, reason, actor()), as_json)
    emit(org.to_dict(), as_json, lambda: _line(org))


@app.command()
def resume(name: str, as_json: bool = JSON_OPTION) -> None:
    """Lift a suspension."""
    org = run(lambda: service().resume_org(name, actor()), as_json)
    emit(org.to_dict(), as_json, lambda: _line(org))


@app.command()
def terminate(
    name: str, reason: str = typer.Option(..., "--reason"), as_json: bool = JSON_OPTION
) -> None:
    """End an organisation's access for good."""
    org = run(lambda: service().terminate_org(name, reason, actor()), as_json)
    emit(org.to_dict(), as_json, lambda: _line(org))


@app.command("set-plan")
def set_plan(name: str, plan: str, as_json: bool = JSON_OPTION) -> None:
    """Move an organisation to another plan (refused if it has more apps than PLAN allows)."""
    org = run(lambda: service().set_org_plan(name, plan, actor()), as_json)
    emit(org.to_dict(), as_json, lambda: _line(org))


@app.command("accept-agreement")
def accept_agreement(
    name: str,
    by: str = typer.Option("", "--by", help="Who accepted (default: the CLI user)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Record that NAME accepted the current agreement version."""
    who = by or actor()
    acceptance = run(lambda: service().accept_agreement(name, who, actor()), as_json)
    emit(
        acceptance.to_dict(),
        as_json,
        lambda: say(
            f"{name} accepted agreement {acceptance.version} "
            f"(by {acceptance.accepted_by} at {acceptance.accepted_at})"
        ),
    )
