"""`tollhouse plans …` and `tollhouse agreements …`: the price book and the agreement."""

from __future__ import annotations

from pathlib import Path

import typer

from tollhouse.access.agreements import default_agreement, load_agreement
from tollhouse.access.plans import Plan, default_plans, load_plan_book
from tollhouse.access.service import AgreementView
from tollhouse.cli.access_service import JSON_OPTION, actor, run, service
from tollhouse.cli.output import emit, say, table

app = typer.Typer(help="Plans (tiers) from the price book.", no_args_is_help=True)
agreements = typer.Typer(help="The developer agreement.", no_args_is_help=True)


def _cap(plan: Plan) -> str:
    return "none" if plan.monthly_post_cap is None else f"{plan.monthly_post_cap:,}"


@app.command("list")
def list_(as_json: bool = JSON_OPTION) -> None:
    """Plans in the database."""
    book = run(lambda: service().list_plans(), as_json)
    emit(
        [p.to_dict() for p in book],
        as_json,
        lambda: table(
            "plans",
            ["name", "monthly fee", "post cap", "overage /1k", "max apps", "endpoints"],
            [
                (
                    p.name,
                    p.monthly_fee,
                    _cap(p),
                    p.overage_per_1k or "-",
                    p.max_apps,
                    len(p.endpoints),
                )
                for p in book
            ],
        ),
    )


@app.command()
def load(
    path: Path | None = typer.Argument(None, help="plans.toml (default: the shipped defaults)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Load a price book (all or nothing)."""

    def operation() -> list[str]:
        book = default_plans() if path is None else load_plan_book(path)
        return service().load_plans(book, actor())

    changed = run(operation, as_json)
    emit(
        {"changed": changed},
        as_json,
        lambda: say(f"plans changed: {', '.join(changed) or 'none'}"),
    )


@agreements.command()
def publish(
    path: Path | None = typer.Argument(None, help="agreement.toml (default: the shipped one)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Publish a new agreement version; organisations must accept it before keys work again."""

    def operation() -> AgreementView:
        draft = default_agreement() if path is None else load_agreement(path)
        return service().publish_agreement(draft, actor())

    view = run(operation, as_json)
    emit(view.to_dict(), as_json, lambda: say(f"published agreement {view.version}"))


@agreements.command()
def show(as_json: bool = JSON_OPTION) -> None:
    """The current agreement version and its terms."""
    view = run(lambda: service().current_agreement(), as_json)

    def render() -> None:
        if view is None:
            say("no agreement published")
            return
        say(f"agreement {view.version} (published {view.published_at})")
        say(str(view.terms.model_dump()))

    emit(None if view is None else view.to_dict(), as_json, render)
