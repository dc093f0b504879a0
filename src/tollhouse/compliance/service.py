"""Deletion compliance for one organisation by name: its obligations, holdings, and the
operator's explicit notices. Reads organisations, apps and the agreement from access, the
delivery ledger from the usage database, everything else from the main one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy.engine import Engine

from tollhouse.access.models import admin_audit
from tollhouse.access.service import AccessService
from tollhouse.compliance.clock import Clock, utc_now
from tollhouse.compliance.holdings import Holdings, holdings
from tollhouse.compliance.notices import record_notices_in
from tollhouse.compliance.obligations import STATUSES, Obligation, obligations
from tollhouse.errors import InvalidInput, NotFound

DEFAULT_DEADLINE_HOURS = 24


class ComplianceService:
    def __init__(self, engine: Engine, usage_engine: Engine, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.usage_engine = usage_engine
        self.clock = clock
        self.access = AccessService(engine)

    def _org(self, org: str, app: str | None) -> tuple[int, list[int] | None]:
        view = self.access.show_org(org)
        if app is None:
            return view.id, None
        for a in view.apps:
            if a.name == app:
                return view.id, [a.id]
        raise NotFound(f"organisation {org!r} has no app {app!r}")

    def deadline_hours(self) -> int:
        agreement = self.access.current_agreement()
        return agreement.terms.deletion_deadline_hours if agreement else DEFAULT_DEADLINE_HOURS

    def obligations(
        self, org: str, status: str | None = None, app: str | None = None
    ) -> list[Obligation]:
        if status is not None and status not in STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
        org_id, app_ids = self._org(org, app)
        with self.engine.connect() as conn, self.usage_engine.connect() as usage:
            found = obligations(conn, usage, org_id, self.deadline_hours(), self.clock(), app_ids)
        return [o for o in found if status is None or o.status == status]

    def holdings(
        self, org: str, app: str | None = None, start: date | None = None, end: date | None = None
    ) -> Holdings:
        if start is not None and end is not None and start >= end:
            raise InvalidInput("--from must be before --to")
        org_id, app_ids = self._org(org, app)
        with self.engine.connect() as conn, self.usage_engine.connect() as usage:
            owed = obligations(conn, usage, org_id, self.deadline_hours(), self.clock(), app_ids)
            return holdings(conn, usage, org_id, owed, start, end, app_ids)

    def notify(self, org: str, keys: Sequence[str] | None, actor: str) -> int:
        """Record the operator's notice to `org` of the obligations `keys` (all of those without
        notice when None); how many notices were new."""
        if keys is None:
            chosen = [o.key for o in self.obligations(org) if o.status == "no_notice"]
        else:
            chosen = list(keys)
        org_id, _ = self._org(org, None)
        at = self.clock()
        with self.engine.begin() as conn:
            new = record_notices_in(conn, org_id, chosen, "operator", at, actor[:64])
            conn.execute(
                admin_audit.insert().values(
                    at=at,
                    actor=actor,
                    action="compliance.notify",
                    target_type="organisation",
                    target=org,
                    before=None,
                    after={"keys": list(chosen)[:1000], "new": new},
                )
            )
        return new
