"""Onboarding in one go: everything a licensee needs to call the API (used by `tollhouse demo`
and by tests of the other domains that need a working key)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tollhouse.access.views import AppView, KeyCreated, OrgView

if TYPE_CHECKING:
    from tollhouse.access.service import AccessService


@dataclass(frozen=True, slots=True)
class Onboarded:
    org: OrgView
    apps: tuple[AppView, ...]
    keys: tuple[KeyCreated, ...]  # one per app, in the same order


def onboard(
    service: AccessService,
    org: str,
    plan: str,
    app_names: Sequence[str],
    actor: str = "onboard",
    use_case_names: Sequence[str] = ("search_and_analytics",),
) -> Onboarded:
    """The shipped plans and agreement if none exist yet, the organisation, its agreement
    acceptance, apps and one key per app."""
    service.install_defaults(actor)
    org_view = service.create_org(org, plan, actor)
    service.accept_agreement(org, accepted_by=actor, actor=actor)
    made = [service.create_app(org, name, actor, use_case_names) for name in app_names]
    minted = [service.create_key(a.name, actor) for a in made]
    return Onboarded(service.show_org(org_view.name), tuple(made), tuple(minted))
