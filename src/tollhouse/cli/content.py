"""`tollhouse content …`: record changes of a post's or user's state (content events)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import typer

from tollhouse.cli.access_service import JSON_OPTION, actor, run
from tollhouse.cli.output import emit, open_engine, say, table
from tollhouse.compliance import content_events
from tollhouse.compliance.clock import utc_now
from tollhouse.compliance.models import content_events as content_table

app = typer.Typer(
    help="Content events: deletes, edits, withholding, protects…", no_args_is_help=True
)


_TYPES = ", ".join(sorted(content_events.POST_EVENTS | content_events.USER_EVENTS))


@app.command()
def event(
    kind: str = typer.Argument(
        ...,
        metavar="TYPE",
        help=_TYPES,
    ),
    subject_id: str = typer.Argument(
        ..., metavar="ID", help="The post id (post events) or user id."
    ),
    user: bool = typer.Option(False, "--user", help="scrub_geo: ID is a user (else a post)."),
    at: str | None = typer.Option(None, "--at", help="When it happened (ISO 8601, default now)."),
    countries: str | None = typer.Option(None, "--countries", help="withheld: XX,YY"),
    up_to: str | None = typer.Option(None, "--up-to", help="user scrub_geo: up to this post id"),
    edits: str | None = typer.Option(None, "--edit-ids", help="tweet_edit: the edit chain ids"),
    field: str | None = typer.Option(None, "--field", help="profile field (profile.name, …)"),
    value: str | None = typer.Option(None, "--value", help="its new value"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Record one content event and apply it to the served corpus."""
    is_user = kind.startswith("user_") or (kind == "scrub_geo" and user)
    raw: dict[str, Any] = {"type": kind, ("user_id" if is_user else "tweet_id"): subject_id}
    if at is not None:
        raw["at"] = at
    if countries is not None:
        raw["withheld_in_countries"] = [c.strip() for c in countries.split(",") if c.strip()]
    if up_to is not None:
        raw["up_to_tweet_id"] = up_to
    if edits is not None:
        raw["edit_tweet_ids"] = [e.strip() for e in edits.split(",") if e.strip()]
    if field is not None:
        raw["profile_field"] = field
        raw["new_value"] = value or ""

    def operation() -> list[content_events.ContentEvent]:
        engine = open_engine()
        try:
            # The database first: an unmigrated one is the error to report, not the input.
            with engine.connect() as conn:
                conn.execute(sa.select(sa.literal(1)).select_from(content_table).limit(1))
            parsed = content_events.parse_event(raw, utc_now())
            return content_events.record(engine, [parsed], actor=actor())
        finally:
            engine.dispose()

    stored = run(operation, as_json)
    emit(
        stored[0].as_dict(),
        as_json,
        lambda: say(f"recorded {kind} of {stored[0].subject} {subject_id} (event #{stored[0].id})"),
    )


@app.command("events")
def list_events(
    subject_id: str = typer.Argument(..., metavar="ID"),
    user: bool = typer.Option(False, "--user", help="ID is a user (else a post)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """The content events of one post or user, oldest first."""
    if not subject_id.isdigit():
        say("error: ID must be numeric")
        raise typer.Exit(1)
    engine = open_engine()
    try:
        with engine.connect() as conn:
            found = content_events.events_of(conn, "user" if user else "post", [int(subject_id)])
    finally:
        engine.dispose()
    events = [e.as_dict() for e in found.get(int(subject_id), [])]
    emit(
        {"data": events},
        as_json,
        lambda: table(
            "content events",
            ("id", "event", "occurred_at"),
            [(e["id"], e["event"], e["occurred_at"]) for e in events],
        ),
    )
