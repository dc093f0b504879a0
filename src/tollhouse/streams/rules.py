"""Filtered-stream rules: validate, add, delete and list an app's rules.

A rule's value is a search query (the same parser and errors as search); its length is bounded by
the plan, and so is the number of rules an app holds. Adding is all-or-nothing for invalid rules
(X rejects the request) but partial for duplicates (X creates the rest and reports the duplicate).
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Connection, delete, func, select

from tollhouse.corpus.ids import snowflake
from tollhouse.streams.errors import RulesCapExceeded
from tollhouse.streams.models import stream_rules

# Ids are snowflakes with a random worker per process and a running sequence, so that processes
# adding rules at the same millisecond do not collide.
_WORKER = secrets.randbelow(1024)
_SEQUENCE = itertools.count(secrets.randbelow(4096))


@dataclass(frozen=True, slots=True)
class StreamRule:
    id: int
    app_id: str
    value: str
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class NewRule:
    value: str
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class RuleError:
    """Why one rule of a request was not created or deleted (`details` as X lists them)."""

    value: str
    kind: str  # "duplicate" | "invalid" | "not_found"
    details: tuple[str, ...] = ()
    id: int | None = None  # the existing rule, for a duplicate


@dataclass(frozen=True, slots=True)
class AddOutcome:
    created: list[StreamRule] = field(default_factory=list)
    errors: list[RuleError] = field(default_factory=list)

    @property
    def invalid(self) -> list[RuleError]:
        return [e for e in self.errors if e.kind == "invalid"]


@dataclass(frozen=True, slots=True)
class DeleteOutcome:
    deleted: list[StreamRule] = field(default_factory=list)
    errors: list[RuleError] = field(default_factory=list)


def new_rule_id(now: datetime | None = None) -> int:
    """A fresh snowflake-like rule id."""
    return snowflake(now or datetime.now(UTC), _WORKER, next(_SEQUENCE))


def validate_rule(value: str, max_length: int) -> tuple[str, ...]:
    """The problems with `value` as a rule (empty when it is a valid query within the length)."""
    from tollhouse.corpus.query import parse, require_standalone
    from tollhouse.corpus.query.errors import QuerySyntaxError

    if not value.strip():
        return ("Rules must contain a non-empty value.",)
    try:
        require_standalone(parse(value, max_length=max_length))
    except QuerySyntaxError as exc:
        return exc.details
    return ()


def _row(row: object) -> StreamRule:
    return StreamRule(id=row.id, app_id=row.app_id, value=row.value, tag=row.tag)  # type: ignore[attr-defined]


def list_rules(conn: Connection, app_id: str, ids: Iterable[int] | None = None) -> list[StreamRule]:
    """The app's rules (only those in `ids` when given), oldest first."""
    query = select(stream_rules).where(stream_rules.c.app_id == app_id)
    if ids is not None:
        query = query.where(stream_rules.c.id.in_(list(ids)))
    return [_row(r) for r in conn.execute(query.order_by(stream_rules.c.id))]


def count_rules(conn: Connection, app_id: str) -> int:
    query = select(func.count()).select_from(stream_rules).where(stream_rules.c.app_id == app_id)
    return int(conn.execute(query).scalar_one())


def add_rules(
    conn: Connection,
    app_id: str,
    rules: Sequence[NewRule],
    *,
    max_rules: int,
    max_length: int,
    dry_run: bool = False,
) -> AddOutcome:
    """Add `rules` to the app. Invalid values → nothing is created and every invalid one is
    reported; duplicates (of a stored rule or earlier in the request) are reported and skipped.
    Raises RulesCapExceeded if the new rules would pass `max_rules`."""
    invalid = [
        RuleError(r.value, "invalid", problems)
        for r in rules
        if (problems := validate_rule(r.value, max_length))
    ]
    if invalid:
        return AddOutcome(errors=invalid)
    values = [r.value for r in rules]
    existing = dict(
        conn.execute(
            select(stream_rules.c.value, stream_rules.c.id).where(
                stream_rules.c.app_id == app_id, stream_rules.c.value.in_(values)
            )
        ).all()
    )
    errors: list[RuleError] = []
    fresh: list[NewRule] = []
    seen: set[str] = set()
    for rule in rules:
        if rule.value in existing:
            errors.append(RuleError(rule.value, "duplicate", id=existing[rule.value]))
        elif rule.value in seen:
            errors.append(RuleError(rule.value, "duplicate"))
        else:
            seen.add(rule.value)
            fresh.append(rule)
    held = count_rules(conn, app_id)
    if fresh and held + len(fresh) > max_rules:
        raise RulesCapExceeded(max_rules, held, len(fresh))
    now = datetime.now(UTC)
    created = [StreamRule(new_rule_id(now), app_id, r.value, r.tag or None) for r in fresh]
    if created and not dry_run:
        conn.execute(
            stream_rules.insert(),
            [
                {"id": r.id, "app_id": app_id, "value": r.value, "tag": r.tag, "created_at": now}
                for r in created
            ],
        )
    return AddOutcome(created=created, errors=errors)


def delete_rules(
    conn: Connection,
    app_id: str,
    *,
    ids: Sequence[int] = (),
    values: Sequence[str] = (),
    dry_run: bool = False,
) -> DeleteOutcome:
    """Delete the app's rules named by id or by value; unknown ones are reported, not fatal."""
    found = list_rules(conn, app_id, ids) if ids else []
    if values:
        query = select(stream_rules).where(
            stream_rules.c.app_id == app_id, stream_rules.c.value.in_(list(values))
        )
        found += [_row(r) for r in conn.execute(query)]
    found_ids = {r.id for r in found}
    found_values = {r.value for r in found}
    errors = [
        RuleError(str(i), "not_found", ("Rule does not exist",)) for i in ids if i not in found_ids
    ]
    errors += [
        RuleError(v, "not_found", ("Rule does not exist",)) for v in values if v not in found_values
    ]
    unique = list({r.id: r for r in found}.values())
    if unique and not dry_run:
        conn.execute(delete(stream_rules).where(stream_rules.c.id.in_([r.id for r in unique])))
    return DeleteOutcome(deleted=unique, errors=errors)
