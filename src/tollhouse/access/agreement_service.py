"""The licence agreement as an operator manages it: publishing versions, reading the current
one, and recording an organisation's acceptance.

(`access.agreements` defines the agreement's text and terms; this module stores them.)
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import Connection

from tollhouse.access.agreements import AgreementDraft, AgreementTerms
from tollhouse.access.changes import Changes, audit
from tollhouse.access.errors import DuplicateName, NoAgreement
from tollhouse.access.lookups import current_agreement_id, org_row
from tollhouse.access.models import agreement_acceptances, agreement_versions
from tollhouse.access.views import Acceptance, AgreementView, iso, now
from tollhouse.errors import InvalidInput


@dataclass
class AgreementService:
    changes: Changes

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
            audit(conn, actor, "agreement.publish", "agreement", draft.version, None, after)
            published = iso(at) or ""
            return AgreementView(int(new_id[0]), draft.version, draft.text, draft.terms, published)

        return self.changes.write(change)

    def current_agreement(self) -> AgreementView | None:
        with self.changes.engine.connect() as conn:
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
            row = org_row(conn, org)
            current = current_agreement_id(conn)
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
            after = acceptance.to_dict()
            audit(conn, actor, "org.accept_agreement", "organisation", row["name"], None, after)
            return acceptance

        return self.changes.write(change)
