"""Access operations: onboarding licensees, apps, keys, end users, plans and the agreement.

Every change runs in one transaction that also appends to the admin audit trail (who, what,
when, before/after) and bumps `access_version`, so a refusal leaves nothing half-written and
every serving process notices the change. Tokens are returned once by `create_key`/`rotate_key`
and are never stored, logged or put in the audit trail.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from tollhouse.access import keys as tokens
from tollhouse.access.agreements import AgreementDraft, AgreementTerms, default_agreement
from tollhouse.access.errors import DuplicateName, NoAgreement, TooManyApps, UnknownName
from tollhouse.access.models import (
    AppStatus,
    OrgStatus,
    Sector,
    admin_audit,
    agreement_acceptances,
    agreement_versions,
    api_keys,
    apps,
    end_users,
    organisations,
    plans,
    use_cases,
)
from tollhouse.access.plans import Plan, default_plans, plan_from_dict
from tollhouse.access.revocation import bump_version
from tollhouse.access.views import (
    Acceptance,
    AgreementView,
    AppView,
    AuditEntry,
    EndUserView,
    KeyCreated,
    KeyView,
    OrgView,
    app_view,
    end_user_view,
    iso,
    key_view,
    now,
)
from tollhouse.errors import InvalidInput

__all__ = [
    "Acceptance",
    "AccessService",
    "AgreementView",
    "AppView",
    "AuditEntry",
    "EndUserView",
    "KeyCreated",
    "KeyView",
    "Onboarded",
    "OrgView",
    "onboard",
]

DEFAULT_GRACE = timedelta(hours=24)
MAX_GRACE = timedelta(days=30)
_NAME = re.compile(r"^[\w][\w .,&'()@+-]{0,99}$", re.UNICODE)
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_USE_CASE = re.compile(r"^[a-z][a-z0-9_]{1,59}$")


def check_name(kind: str, name: str) -> str:
    """A display name: 1-100 characters, starting with a letter or digit, no control chars."""
    cleaned = name.strip()
    if not _NAME.match(cleaned):
        raise InvalidInput(
            f"{kind} name {name!r} must be 1-100 characters: letters, digits, spaces and . , & ' "
            "( ) @ + - _, starting with a letter or digit"
        )
    return cleaned


@dataclass
class AccessService:
    """The access operations over one database. `on_change` callbacks run after each commit
    (flush this process's key cache, publish a Redis notice for the others)."""

    engine: Engine
    on_change: list[Callable[[], None]] = field(default_factory=list)

    # ---- plumbing ----

    def _changed(self) -> None:
        for callback in self.on_change:
            callback()

    def _write(self, fn: Callable[[Connection], Any]) -> Any:
        """Run one change in a transaction; map a constraint race to DuplicateName."""
        try:
            with self.engine.begin() as conn:
                result = fn(conn)
                bump_version(conn)
        except IntegrityError as exc:
            raise DuplicateName("that name is already taken") from exc
        self._changed()
        return result

    @staticmethod
    def _audit(
        conn: Connection,
        actor: str,
        action: str,
        target_type: str,
        target: str,
        before: Any = None,
        after: Any = None,
    ) -> None:
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

    # ---- lookups ----

    @staticmethod
    def _org_row(conn: Connection, name: str) -> sa.RowMapping:
        row = (
            conn.execute(sa.select(organisations).where(organisations.c.name == name.strip()))
            .mappings()
            .first()
        )
        if row is None:
            raise UnknownName(f"no organisation named {name!r}")
        return row

    @staticmethod
    def _plan(conn: Connection, name: str) -> Plan:
        row = conn.execute(sa.select(plans).where(plans.c.name == name.strip().lower())).first()
        if row is None:
            known = conn.execute(sa.select(plans.c.name).order_by(plans.c.name)).scalars().all()
            hint = ", ".join(known) if known else "none loaded — run `tollhouse plans load`"
            raise UnknownName(f"no plan named {name!r} (known plans: {hint})")
        return plan_from_dict(row.name, row.definition)

    @staticmethod
    def _app_row(conn: Connection, name: str) -> sa.RowMapping:
        row = conn.execute(sa.select(apps).where(apps.c.name == name.strip())).mappings().first()
        if row is None:
            raise UnknownName(f"no app named {name!r}")
        return row

    @staticmethod
    def _key_row(conn: Connection, key_id: str) -> sa.RowMapping:
        if not tokens.looks_like_key_id(key_id):
            raise UnknownName(f"no key with id {key_id!r} (key ids are 10 letters/digits)")
        row = conn.execute(sa.select(api_keys).where(api_keys.c.id == key_id)).mappings().first()
        if row is None:
            raise UnknownName(f"no key with id {key_id!r}")
        return row

    @staticmethod
    def _current_agreement_id(conn: Connection) -> tuple[int, str] | None:
        row = conn.execute(
            sa.select(agreement_versions.c.id, agreement_versions.c.version)
            .order_by(agreement_versions.c.id.desc())
            .limit(1)
        ).first()
        return None if row is None else (row.id, row.version)

    @staticmethod
    def _org_view(conn: Connection, row: sa.RowMapping, detail: bool) -> OrgView:
        current = AccessService._current_agreement_id(conn)
        acc_rows = conn.execute(
            sa.select(
                agreement_versions.c.id,
                agreement_versions.c.version,
                agreement_acceptances.c.accepted_by,
                agreement_acceptances.c.accepted_at,
            )
            .select_from(
                agreement_acceptances.join(
                    agreement_versions,
                    agreement_versions.c.id == agreement_acceptances.c.agreement_id,
                )
            )
            .where(agreement_acceptances.c.org_id == row["id"])
            .order_by(agreement_acceptances.c.id)
        ).all()
        accepted = current is not None and any(r.id == current[0] for r in acc_rows)
        view = OrgView(
            id=row["id"],
            name=row["name"],
            plan=row["plan_name"],
            status=row["status"],
            status_reason=row["status_reason"],
            billing_day=row["billing_day"],
            contacts=tuple(row["contacts"] or ()),
            created_at=iso(row["created_at"]) or "",
            agreement_current=None if current is None else current[1],
            agreement_accepted=accepted,
        )
        if not detail:
            return view
        app_views = AccessService._app_views(conn, row["id"], row["name"])
        app_names = {a.id: a.name for a in app_views}
        key_rows = conn.execute(
            sa.select(api_keys)
            .where(api_keys.c.app_id.in_(list(app_names) or [-1]))
            .order_by(api_keys.c.created_at)
        ).mappings()
        return replace(
            view,
            acceptances=tuple(
                Acceptance(r.version, r.accepted_by, iso(r.accepted_at) or "") for r in acc_rows
            ),
            apps=tuple(app_views),
            keys=tuple(key_view(k, app_names[k["app_id"]]) for k in key_rows),
            end_users=tuple(AccessService._end_user_views(conn, row["id"], row["name"])),
        )

    @staticmethod
    def _app_views(conn: Connection, org_id: int, org_name: str) -> list[AppView]:
        rows = conn.execute(sa.select(apps).where(apps.c.org_id == org_id).order_by(apps.c.id))
        return [app_view(r, org_name) for r in rows.mappings()]

    @staticmethod
    def _end_user_views(conn: Connection, org_id: int, org_name: str) -> list[EndUserView]:
        rows = conn.execute(
            sa.select(end_users).where(end_users.c.org_id == org_id).order_by(end_users.c.id)
        )
        return [end_user_view(r, org_name) for r in rows.mappings()]

    # ---- plans ----

    def list_plans(self) -> list[Plan]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(plans).order_by(plans.c.name)).all()
        book = [plan_from_dict(r.name, r.definition) for r in rows]
        return sorted(book, key=lambda p: (p.monthly_fee, p.name))

    def get_plan(self, name: str) -> Plan:
        with self.engine.connect() as conn:
            return self._plan(conn, name)

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
                    conn.execute(plans.insert().values(name=plan.name, definition=new, updated_at=now()))  # fmt: skip  # noqa: E501
                else:
                    conn.execute(
                        plans.update()
                        .where(plans.c.name == plan.name)
                        .values(definition=new, updated_at=now())
                    )
                self._audit(conn, actor, "plan.load", "plan", plan.name, before, new)
                changed.append(plan.name)
            return changed

        result: list[str] = self._write(change)
        return result

    # ---- agreement ----

    def publish_agreement(self, draft: AgreementDraft, actor: str) -> AgreementView:
        """Publish a new current agreement version (organisations must accept it again)."""

        def change(conn: Connection) -> AgreementView:
            exists = conn.execute(
                sa.select(agreement_versions.c.id).where(
                    agreement_versions.c.version == draft.version
                )
            ).first()
            if exists is not None:
                raise DuplicateName(f"agreement version {draft.version!r} is already published")
            at = now()
            terms = draft.terms.model_dump(mode="json")
            new_id = conn.execute(
                agreement_versions.insert().values(
                    version=draft.version, text=draft.text, terms=terms, published_at=at
                )
            ).inserted_primary_key
            assert new_id is not None
            after = {"version": draft.version, "terms": terms}
            self._audit(conn, actor, "agreement.publish", "agreement", draft.version, None, after)
            return AgreementView(int(new_id[0]), draft.version, draft.text, draft.terms, iso(at) or "")  # fmt: skip  # noqa: E501

        view: AgreementView = self._write(change)
        return view

    def current_agreement(self) -> AgreementView | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(agreement_versions).order_by(agreement_versions.c.id.desc()).limit(1)
            ).first()
        if row is None:
            return None
        return AgreementView(
            row.id,
            row.version,
            row.text,
            AgreementTerms.model_validate(row.terms),
            iso(row.published_at) or "",
        )

    def accept_agreement(self, org: str, accepted_by: str, actor: str) -> Acceptance:
        """Record that `org` accepted the current agreement version (by whom, when)."""
        accepted_by = accepted_by.strip()
        if not accepted_by or len(accepted_by) > 200:
            raise InvalidInput("accepted_by must name the person accepting (1-200 characters)")

        def change(conn: Connection) -> Acceptance:
            row = self._org_row(conn, org)
            current = self._current_agreement_id(conn)
            if current is None:
                raise NoAgreement(
                    "no agreement has been published yet — run `tollhouse agreements publish`"
                )
            at = now()
            conn.execute(
                agreement_acceptances.insert().values(
                    org_id=row["id"],
                    agreement_id=current[0],
                    accepted_by=accepted_by,
                    accepted_at=at,
                )
            )
            acceptance = Acceptance(current[1], accepted_by, iso(at) or "")
            self._audit(
                conn, actor, "org.accept_agreement", "organisation", row["name"],
                None, acceptance.to_dict(),
            )  # fmt: skip
            return acceptance

        acceptance: Acceptance = self._write(change)
        return acceptance

    # ---- organisations ----

    def create_org(
        self,
        name: str,
        plan: str,
        actor: str,
        billing_day: int = 1,
        contacts: Iterable[str] = (),
    ) -> OrgView:
        name = check_name("organisation", name)
        if not 1 <= billing_day <= 28:
            raise InvalidInput(f"billing day must be 1-28, not {billing_day}")
        contact_list = [c.strip() for c in contacts if c.strip()]
        if any(len(c) > 200 for c in contact_list):
            raise InvalidInput("a contact must be at most 200 characters")

        def change(conn: Connection) -> OrgView:
            the_plan = self._plan(conn, plan)
            if conn.execute(sa.select(organisations.c.id).where(organisations.c.name == name)).first():  # fmt: skip  # noqa: E501
                raise DuplicateName(f"an organisation named {name!r} already exists")
            at = now()
            conn.execute(
                organisations.insert().values(
                    name=name, plan_name=the_plan.name, status=OrgStatus.ACTIVE.value,
                    status_reason=None, billing_day=billing_day, contacts=contact_list,
                    created_at=at, updated_at=at,
                )
            )  # fmt: skip
            view = self._org_view(conn, self._org_row(conn, name), detail=False)
            self._audit(conn, actor, "org.create", "organisation", name, None, view.to_dict())
            return view

        view: OrgView = self._write(change)
        return view

    def list_orgs(self) -> list[OrgView]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(organisations).order_by(organisations.c.name)).mappings()
            return [self._org_view(conn, r, detail=False) for r in rows.all()]

    def show_org(self, name: str) -> OrgView:
        with self.engine.connect() as conn:
            return self._org_view(conn, self._org_row(conn, name), detail=True)

    def _set_org(self, name: str, actor: str, action: str, **values: Any) -> OrgView:
        def change(conn: Connection) -> OrgView:
            row = self._org_row(conn, name)
            before = self._org_view(conn, row, detail=False).to_dict()
            if "plan_name" in values:
                plan = self._plan(conn, values["plan_name"])
                values["plan_name"] = plan.name
                count = conn.execute(
                    sa.select(sa.func.count()).select_from(apps).where(apps.c.org_id == row["id"])
                ).scalar_one()
                if count > plan.max_apps:
                    raise TooManyApps(
                        f"organisation {row['name']!r} has {count} apps; plan {plan.name!r} "
                        f"allows {plan.max_apps}. Remove apps first"
                    )
            conn.execute(
                organisations.update()
                .where(organisations.c.id == row["id"])
                .values(updated_at=now(), **values)
            )
            view = self._org_view(conn, self._org_row(conn, row["name"]), detail=False)
            self._audit(conn, actor, action, "organisation", row["name"], before, view.to_dict())
            return view

        view: OrgView = self._write(change)
        return view

    def suspend_org(self, name: str, reason: str, actor: str) -> OrgView:
        reason = reason.strip()
        if not reason:
            raise InvalidInput("a suspension needs a reason")
        return self._set_org(
            name, actor, "org.suspend", status=OrgStatus.SUSPENDED.value, status_reason=reason
        )

    def terminate_org(self, name: str, reason: str, actor: str) -> OrgView:
        reason = reason.strip()
        if not reason:
            raise InvalidInput("a termination needs a reason")
        return self._set_org(
            name, actor, "org.terminate", status=OrgStatus.TERMINATED.value, status_reason=reason
        )

    def resume_org(self, name: str, actor: str) -> OrgView:
        with self.engine.connect() as conn:
            if self._org_row(conn, name)["status"] == OrgStatus.TERMINATED:
                raise InvalidInput(f"organisation {name!r} is terminated and cannot be resumed")
        return self._set_org(
            name, actor, "org.resume", status=OrgStatus.ACTIVE.value, status_reason=None
        )

    def set_org_plan(self, name: str, plan: str, actor: str) -> OrgView:
        return self._set_org(name, actor, "org.set_plan", plan_name=plan)

    def set_billing_day(self, name: str, day: int, actor: str) -> OrgView:
        if not 1 <= day <= 28:
            raise InvalidInput(f"billing day must be 1-28, not {day}")
        return self._set_org(name, actor, "org.set_billing_day", billing_day=day)

    # ---- use cases and apps ----

    def list_use_cases(self) -> dict[str, str]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(use_cases).order_by(use_cases.c.name)).all()
        return {r.name: r.description for r in rows}

    def add_use_case(self, name: str, description: str, actor: str) -> None:
        """Extend the use-case vocabulary."""
        if not _USE_CASE.match(name):
            raise InvalidInput(
                f"use case {name!r} must be 2-60 lower-case letters, digits or _, "
                "starting with a letter"
            )

        def change(conn: Connection) -> None:
            if conn.execute(sa.select(use_cases.c.name).where(use_cases.c.name == name)).first():
                raise DuplicateName(f"use case {name!r} already exists")
            conn.execute(use_cases.insert().values(name=name, description=description.strip()))
            self._audit(conn, actor, "use_case.add", "use_case", name, None, {"description": description})  # fmt: skip  # noqa: E501

        self._write(change)

    def create_app(
        self,
        org: str,
        name: str,
        actor: str,
        use_case_names: Sequence[str] = (),
        use_case_text: str = "",
    ) -> AppView:
        name = check_name("app", name)
        if len(use_case_text) > 2000:
            raise InvalidInput("the use case description must be at most 2000 characters")
        wanted = sorted({u.strip() for u in use_case_names if u.strip()})

        def change(conn: Connection) -> AppView:
            org_row = self._org_row(conn, org)
            known = set(conn.execute(sa.select(use_cases.c.name)).scalars())
            unknown = [u for u in wanted if u not in known]
            if unknown:
                raise InvalidInput(
                    f"unknown use case(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
                )
            if conn.execute(sa.select(apps.c.id).where(apps.c.name == name)).first():
                raise DuplicateName(f"an app named {name!r} already exists")
            plan = self._plan(conn, org_row["plan_name"])
            count = conn.execute(
                sa.select(sa.func.count()).select_from(apps).where(apps.c.org_id == org_row["id"])
            ).scalar_one()
            if count >= plan.max_apps:
                raise TooManyApps(
                    f"organisation {org_row['name']!r} already has {count} app(s), the most its "
                    f"plan {plan.name!r} allows"
                )
            conn.execute(
                apps.insert().values(
                    org_id=org_row["id"], name=name, use_cases=wanted,
                    use_case_text=use_case_text.strip(), status=AppStatus.ACTIVE.value,
                    created_at=now(),
                )
            )  # fmt: skip
            view = app_view(self._app_row(conn, name), org_row["name"])
            self._audit(conn, actor, "app.create", "app", name, None, view.to_dict())
            return view

        view: AppView = self._write(change)
        return view

    def list_apps(self, org: str) -> list[AppView]:
        with self.engine.connect() as conn:
            row = self._org_row(conn, org)
            return self._app_views(conn, row["id"], row["name"])

    def _set_app_status(self, name: str, status: AppStatus, actor: str) -> AppView:
        def change(conn: Connection) -> AppView:
            row = self._app_row(conn, name)
            org_name = conn.execute(
                sa.select(organisations.c.name).where(organisations.c.id == row["org_id"])
            ).scalar_one()
            before = app_view(row, org_name).to_dict()
            conn.execute(apps.update().where(apps.c.id == row["id"]).values(status=status.value))
            view = app_view(self._app_row(conn, name), org_name)
            self._audit(conn, actor, f"app.{status.value}", "app", row["name"], before, view.to_dict())  # fmt: skip  # noqa: E501
            return view

        view: AppView = self._write(change)
        return view

    def suspend_app(self, name: str, actor: str) -> AppView:
        return self._set_app_status(name, AppStatus.SUSPENDED, actor)

    def resume_app(self, name: str, actor: str) -> AppView:
        return self._set_app_status(name, AppStatus.ACTIVE, actor)

    # ---- keys ----

    def create_key(self, app: str, actor: str) -> KeyCreated:
        """Mint a key for `app`. The token is in the result and nowhere else, ever."""

        def change(conn: Connection) -> KeyCreated:
            row = self._app_row(conn, app)
            minted = tokens.new_token()
            at = now()
            conn.execute(
                api_keys.insert().values(
                    id=minted.key_id, app_id=row["id"], token_hash=minted.token_hash,
                    created_at=at,
                )
            )  # fmt: skip
            after = {"id": minted.key_id, "app": row["name"], "created_at": iso(at)}
            self._audit(conn, actor, "key.create", "key", minted.key_id, None, after)
            return KeyCreated(minted.key_id, row["name"], minted.token)

        created: KeyCreated = self._write(change)
        return created

    def revoke_key(self, key_id: str, actor: str) -> KeyView:
        def change(conn: Connection) -> KeyView:
            row = self._key_row(conn, key_id)
            app_name = conn.execute(
                sa.select(apps.c.name).where(apps.c.id == row["app_id"])
            ).scalar_one()
            before = key_view(row, app_name)
            if row["revoked_at"] is not None:
                raise InvalidInput(f"key {key_id} is already revoked")
            conn.execute(api_keys.update().where(api_keys.c.id == key_id).values(revoked_at=now()))
            view = key_view(self._key_row(conn, key_id), app_name)
            self._audit(conn, actor, "key.revoke", "key", key_id, before.to_dict(), view.to_dict())  # fmt: skip  # noqa: E501
            return view

        view: KeyView = self._write(change)
        return view

    def rotate_key(self, key_id: str, actor: str, grace: timedelta = DEFAULT_GRACE) -> KeyCreated:
        """Mint a replacement; the old key keeps working until the grace period ends."""
        if grace < timedelta(0) or grace > MAX_GRACE:
            raise InvalidInput("the grace period must be between 0 and 30 days")

        def change(conn: Connection) -> KeyCreated:
            row = self._key_row(conn, key_id)
            app_name = conn.execute(
                sa.select(apps.c.name).where(apps.c.id == row["app_id"])
            ).scalar_one()
            before = key_view(row, app_name)
            if before.status in ("revoked", "expired"):
                raise InvalidInput(f"key {key_id} is {before.status}; create a new key instead")
            if row["replaced_by"] is not None:
                raise InvalidInput(f"key {key_id} was already rotated to {row['replaced_by']}")
            minted = tokens.new_token()
            at = now()
            expires = at + grace
            conn.execute(
                api_keys.insert().values(
                    id=minted.key_id, app_id=row["app_id"], token_hash=minted.token_hash,
                    created_at=at,
                )
            )  # fmt: skip
            conn.execute(
                api_keys.update()
                .where(api_keys.c.id == key_id)
                .values(expires_at=expires, replaced_by=minted.key_id)
            )
            after = key_view(self._key_row(conn, key_id), app_name).to_dict()
            self._audit(conn, actor, "key.rotate", "key", key_id, before.to_dict(), after)
            self._audit(
                conn, actor, "key.create", "key", minted.key_id, None,
                {"id": minted.key_id, "app": app_name, "created_at": iso(at), "replaces": key_id},
            )  # fmt: skip
            return KeyCreated(minted.key_id, app_name, minted.token, key_id, iso(expires))

        created: KeyCreated = self._write(change)
        return created

    def list_keys(self, app: str) -> list[KeyView]:
        with self.engine.connect() as conn:
            row = self._app_row(conn, app)
            rows = conn.execute(
                sa.select(api_keys)
                .where(api_keys.c.app_id == row["id"])
                .order_by(api_keys.c.created_at)
            ).mappings()
            return [key_view(k, row["name"]) for k in rows]

    # ---- end users ----

    def add_end_user(
        self, org: str, name: str, sector: str, country: str, actor: str
    ) -> EndUserView:
        name = check_name("end user", name)
        try:
            the_sector = Sector(sector.strip().lower())
        except ValueError:
            raise InvalidInput(
                f"sector {sector!r} is not one of {', '.join(s.value for s in Sector)}"
            ) from None
        cc = country.strip().upper()
        if not _COUNTRY.match(cc):
            raise InvalidInput(f"country {country!r} must be an ISO 3166 two-letter code")

        def change(conn: Connection) -> EndUserView:
            org_row = self._org_row(conn, org)
            if conn.execute(
                sa.select(end_users.c.id)
                .where(end_users.c.org_id == org_row["id"])
                .where(end_users.c.name == name)
            ).first():
                raise DuplicateName(f"{org_row['name']!r} already declared an end user {name!r}")
            new_id = conn.execute(
                end_users.insert().values(
                    org_id=org_row["id"], name=name, sector=the_sector.value, country=cc,
                    approved=False, approved_at=None, approved_by=None, created_at=now(),
                )
            ).inserted_primary_key  # fmt: skip
            assert new_id is not None
            view = self._end_user(conn, int(new_id[0]))
            self._audit(conn, actor, "end_user.add", "end_user", str(view.id), None, view.to_dict())  # fmt: skip  # noqa: E501
            return view

        view: EndUserView = self._write(change)
        return view

    @staticmethod
    def _end_user(conn: Connection, end_user_id: int) -> EndUserView:
        row = (
            conn.execute(
                sa.select(end_users, organisations.c.name.label("org_name"))
                .select_from(
                    end_users.join(organisations, organisations.c.id == end_users.c.org_id)
                )
                .where(end_users.c.id == end_user_id)
            )
            .mappings()
            .first()
        )
        if row is None:
            raise UnknownName(f"no end user with id {end_user_id}")
        return end_user_view(row, row["org_name"])

    def approve_end_user(self, end_user_id: int, actor: str) -> EndUserView:
        def change(conn: Connection) -> EndUserView:
            before = self._end_user(conn, end_user_id)
            if before.approved:
                raise InvalidInput(f"end user {end_user_id} is already approved")
            conn.execute(
                end_users.update()
                .where(end_users.c.id == end_user_id)
                .values(approved=True, approved_at=now(), approved_by=actor)
            )
            view = self._end_user(conn, end_user_id)
            self._audit(
                conn, actor, "end_user.approve", "end_user", str(end_user_id),
                before.to_dict(), view.to_dict(),
            )  # fmt: skip
            return view

        view: EndUserView = self._write(change)
        return view

    def list_end_users(self, org: str) -> list[EndUserView]:
        with self.engine.connect() as conn:
            row = self._org_row(conn, org)
            return self._end_user_views(conn, row["id"], row["name"])

    # ---- audit trail and defaults ----

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

    def install_defaults(self, actor: str) -> None:
        """Load the shipped plans and publish the shipped agreement where none exist yet."""
        with self.engine.connect() as conn:
            has_plans = conn.execute(sa.select(plans.c.name).limit(1)).first() is not None
            has_agreement = self._current_agreement_id(conn) is not None
        if not has_plans:
            self.load_plans(default_plans(), actor)
        if not has_agreement:
            self.publish_agreement(default_agreement(), actor)


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
    """Everything a licensee needs to call the API in one go: the shipped plans and agreement
    if none exist yet, the organisation, its agreement acceptance, apps and one key per app.

    Used by `tollhouse demo` and by tests of the other domains that need a working key.
    """
    service.install_defaults(actor)
    org_view = service.create_org(org, plan, actor)
    service.accept_agreement(org, accepted_by=actor, actor=actor)
    made = [service.create_app(org, name, actor, use_case_names) for name in app_names]
    minted = [service.create_key(a.name, actor) for a in made]
    return Onboarded(service.show_org(org_view.name), tuple(made), tuple(minted))
