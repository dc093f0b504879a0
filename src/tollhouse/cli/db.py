"""`tollhouse db upgrade|downgrade`: Alembic migrations on the configured database.

`upgrade` also makes a new database usable at once: where no plans or no agreement exist yet, it
loads the shipped price book and publishes the shipped agreement (saying so, and recording both
in the admin audit trail), so that `orgs create` can follow it directly.
"""

from __future__ import annotations

import typer
from sqlalchemy.engine import Engine, make_url

from tollhouse.cli.access_service import JSON_OPTION, actor
from tollhouse.cli.output import emit, open_engine, say, usage_url
from tollhouse.db import is_database_of
from tollhouse.migrations import runner

app = typer.Typer(help="Database schema.", no_args_is_help=True)


def _install_defaults(engine: Engine) -> tuple[list[str], str | None]:
    """Load the shipped plans and agreement where there are none: (plans loaded, agreement
    version published or None)."""
    from tollhouse.access.agreements import default_agreement
    from tollhouse.access.plans import default_plans
    from tollhouse.access.service import AccessService

    service = AccessService(engine)
    loaded: list[str] = []
    if not service.list_plans():
        loaded = service.load_plans(default_plans(), actor())
    published: str | None = None
    if service.current_agreement() is None:
        published = service.publish_agreement(default_agreement(), actor()).version
    return loaded, published


@app.command()
def upgrade(
    revision: str = typer.Argument("heads", help="Target revision."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Apply migrations up to REVISION (default: the newest); on a database with no plans or no
    agreement, load the shipped ones."""
    engine = open_engine()
    usage = usage_url(engine)
    runner.upgrade(engine, revision, usage_url=usage)
    separate = not is_database_of(engine, usage)
    loaded, published = _install_defaults(engine) if revision == "heads" else ([], None)
    database = engine.url.render_as_string(hide_password=True)
    engine.dispose()

    def render() -> None:
        say(f"database at {revision}: {database}")
        if separate:
            say(f"usage tables at {revision}: {make_url(usage).render_as_string()}")
        if loaded:
            say(f"no plans yet: loaded the shipped price book ({', '.join(loaded)})")
        if published is not None:
            say(f"no agreement yet: published the shipped agreement (version {published})")

    emit(
        {
            "revision": revision,
            "database": database,
            "usage_database": make_url(usage).render_as_string() if separate else database,
            "plans_loaded": loaded,
            "agreement_published": published,
        },
        as_json,
        render,
    )


@app.command()
def downgrade(
    revision: str = typer.Argument(..., help="Target revision, or 'base'."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Revert migrations down to REVISION."""
    engine = open_engine()
    runner.downgrade(engine, revision, usage_url=usage_url(engine))
    engine.dispose()
    emit({"revision": revision}, as_json, lambda: say(f"database at {revision}"))
