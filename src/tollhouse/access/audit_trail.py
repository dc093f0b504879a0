"""Reading the admin audit trail (every change appends to it through `access.changes.audit`)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tollhouse.access.models import admin_audit
from tollhouse.access.views import AuditEntry, iso


@dataclass
class AuditTrail:
    engine: Engine

    def audit_trail(self, limit: int = 100, target: str | None = None) -> list[AuditEntry]:
        """The newest `limit` admin changes, newest first (optionally for one target)."""
        query = sa.select(admin_audit).order_by(admin_audit.c.id.desc()).limit(max(1, limit))
        if target is not None:
            query = query.where(admin_audit.c.target == target)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            AuditEntry(
                r.id,
                iso(r.at) or "",
                r.actor,
                r.action,
                r.target_type,
                r.target,
                r.before,
                r.after,
            )
            for r in rows
        ]
