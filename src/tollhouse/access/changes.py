"""One change to the access tables: a transaction that also appends to the admin audit trail and
bumps `access_version`, then tells this process's listeners (key cache, Redis notice).

Every operation that changes access runs through `Changes.write`, so a refusal leaves nothing
half-written and every serving process notices the change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from tollhouse.access.errors import DuplicateName
from tollhouse.access.models import admin_audit
from tollhouse.access.revocation import bump_version
from tollhouse.access.views import now

T = TypeVar("T")

# PostgreSQL's SQLSTATE for a unique-constraint violation; SQLite says so in its message.
_UNIQUE_VIOLATION = "23505"


@dataclass
class Changes:
    """Runs changes on one database; `on_change` callbacks run after each commit."""

    engine: Engine
    on_change: list[Callable[[], None]] = field(default_factory=list)

    def write(self, fn: Callable[[Connection], T]) -> T:
        """Run one change in a transaction. The operations check names before inserting; a
        unique constraint that still fires is a concurrent insert of the same name, so it is
        a DuplicateName. Any other integrity error is a bug and is raised as it is."""
        try:
            with self.engine.begin() as conn:
                result = fn(conn)
                bump_version(conn)
        except IntegrityError as exc:
            if not is_unique_violation(exc):
                raise
            raise DuplicateName("that name is already taken") from exc
        for callback in self.on_change:
            callback()
        return result


def is_unique_violation(exc: IntegrityError) -> bool:
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate is not None:
        return bool(sqlstate == _UNIQUE_VIOLATION)
    return "UNIQUE constraint failed" in str(orig)


def audit(
    conn: Connection,
    actor: str,
    action: str,
    target_type: str,
    target: str,
    before: object = None,
    after: object = None,
) -> None:
    """Append one entry to the admin audit trail, in the change's transaction."""
    conn.execute(
        admin_audit.insert().values(
            at=now(),
            actor=actor,
            action=action,
            target_type=target_type,
            target=target,
            before=before,
            after=after,
        )
    )
