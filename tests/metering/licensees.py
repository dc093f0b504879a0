"""Organisations, apps and keys made through the access service, for metering tests."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from tollhouse.access.agreements import default_agreement
from tollhouse.access.plans import RateLimit, default_plans
from tollhouse.access.service import AccessService


@dataclass(frozen=True)
class Licensee:
    org_id: int
    apps: dict[str, int]  # name -> id
    tokens: dict[str, str]  # app name -> bearer token


def make_licensees(
    engine: Engine, orgs: dict[str, list[str]], monthly_post_cap: int | None = None
) -> dict[str, Licensee]:
    """Each organisation in `orgs` with its apps, on a plan with every endpoint (no cap unless
    `monthly_post_cap` is given)."""
    enterprise = next(p for p in default_plans() if p.name == "enterprise")
    plan = dataclasses.replace(
        enterprise,
        name="metering-tests",
        rate_limits={t: (RateLimit(1_000_000, 900),) for t in enterprise.endpoints},
        monthly_post_cap=monthly_post_cap,
        max_apps=10,
    )
    service = AccessService(engine)
    service.load_plans([plan], actor="tests")
    service.publish_agreement(default_agreement(), actor="tests")
    made = {}
    for org, apps in orgs.items():
        service.create_org(org, plan.name, actor="tests")
        service.accept_agreement(org, "Test Runner", actor="tests")
        tokens, ids = {}, {}
        for app in apps:
            view = service.create_app(org, app, actor="tests")
            ids[app] = view.id
            tokens[app] = service.create_key(app, actor="tests").token
        org_id = next(o.id for o in service.list_orgs() if o.name == org)
        made[org] = Licensee(org_id, ids, tokens)
    return made
