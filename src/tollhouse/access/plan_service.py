"""Plans as an operator manages them: listing, reading, and loading a price book.

(`access.plans` defines what a plan is; this module stores and changes them.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import Connection

from tollhouse.access.changes import Changes, audit
from tollhouse.access.errors import TooManyApps, UnknownName
from tollhouse.access.models import apps, organisations, plans
from tollhouse.access.plans import Plan, plan_from_dict
from tollhouse.access.views import now
from tollhouse.errors import InvalidInput


def plan_named(conn: Connection, name: str) -> Plan:
    row = conn.execute(sa.select(plans).where(plans.c.name == name.strip().lower())).first()
    if row is None:
        known = conn.execute(sa.select(plans.c.name).order_by(plans.c.name)).scalars().all()
        hint = ", ".join(known) if known else "none loaded — run `tollhouse plans load`"
        raise UnknownName(f"no plan named {name!r} (known plans: {hint})")
    return plan_from_dict(row.name, row.definition)


def has_plans(conn: Connection) -> bool:
    return conn.execute(sa.select(plans.c.name).limit(1)).first() is not None


@dataclass
class PlanService:
    changes: Changes

    def list_plans(self) -> list[Plan]:
        with self.changes.engine.connect() as conn:
            rows = conn.execute(sa.select(plans).order_by(plans.c.name)).all()
        book = [plan_from_dict(r.name, r.definition) for r in rows]
        return sorted(book, key=lambda p: (p.monthly_fee, p.name))

    def get_plan(self, name: str) -> Plan:
        with self.changes.engine.connect() as conn:
            return plan_named(conn, name)

    def load_plans(self, book: Sequence[Plan], actor: str) -> list[str]:
        """Insert or replace each plan in `book`. Refused as a whole if any organisation would
        then have more apps than its plan allows. Returns the names of plans that changed."""
        if not book:
            raise InvalidInput("the price book has no plans")
        names = [p.name for p in book]
        if len(set(names)) != len(names):
            raise InvalidInput("the price book names a plan twice")

        def change(conn: Connection) -> list[str]:
            changed = []
            for plan in book:
                over = conn.execute(
                    sa.select(organisations.c.name, sa.func.count(apps.c.id))
                    .select_from(organisations.join(apps, apps.c.org_id == organisations.c.id))
                    .where(organisations.c.plan_name == plan.name)
                    .group_by(organisations.c.name)
                    .having(sa.func.count(apps.c.id) > plan.max_apps)
                ).first()
                if over is not None:
                    raise TooManyApps(
                        f"plan {plan.name!r} would allow {plan.max_apps} apps but organisation "
                        f"{over[0]!r} on it has {over[1]}; nothing was loaded"
                    )
                new = plan.to_dict()
                old = conn.execute(sa.select(plans.c.definition).where(plans.c.name == plan.name))
                before = old.scalar_one_or_none()
                if before == new:
                    continue
                if before is None:
                    conn.execute(
                        plans.insert().values(name=plan.name, definition=new, updated_at=now())
                    )
                else:
                    conn.execute(
                        plans.update()
                        .where(plans.c.name == plan.name)
                        .values(definition=new, updated_at=now())
                    )
                audit(conn, actor, "plan.load", "plan", plan.name, before, new)
                changed.append(plan.name)
            return changed

        return self.changes.write(change)
