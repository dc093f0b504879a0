"""The in-process key directory: what the edge consults on every request.

`KeyDirectory.get(key_id)` is a dict lookup. A miss is loaded once from the database (one joined
query plus the current agreement) into a `KeyEntry` that already holds the finished
`RequestContext` and any refusal, so that the hot path creates no objects and makes no database
call. The whole cache is dropped whenever `ChangeWatcher` sees access change anywhere.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tollhouse.access.agreements import AgreementTerms
from tollhouse.access.context import RequestContext
from tollhouse.access.government_use import refused_end_users
from tollhouse.access.models import (
    AppStatus,
    OrgStatus,
    Sector,
    agreement_acceptances,
    agreement_versions,
    api_keys,
    apps,
    end_users,
    organisations,
    plans,
)
from tollhouse.access.plans import Plan, plan_from_dict
from tollhouse.access.revocation import ChangeWatcher


class Refusal(enum.Enum):
    """Why a genuine key may not be used right now (each is a 403 at the edge)."""

    ORG_SUSPENDED = "organisation suspended"
    ORG_TERMINATED = "organisation terminated"
    APP_SUSPENDED = "app suspended"
    AGREEMENT_NOT_ACCEPTED = "agreement not accepted"


@dataclass(frozen=True, slots=True)
class KeyEntry:
    token_hash: str
    not_after: float | None  # epoch seconds after which the key stops (rotation grace), or None
    refusal: Refusal | None
    context: RequestContext
    # `X-End-User` names the organisation may not be served for, with why (government_use.py);
    # empty for almost every organisation, so the edge reads the header only when it is not.
    refused_end_users: Mapping[str, str] = field(default_factory=dict)


class _Missing:
    pass


MISSING: Final = _Missing()
# Unknown key ids are remembered too (as None) so that guessing cannot hammer the database; the
# negative part of the cache is bounded by flushing it when it grows past this.
MAX_ENTRIES = 100_000


def _epoch(value: datetime | None) -> float | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite returns naive datetimes; we only ever store UTC
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def load_entry(engine: Engine, key_id: str) -> KeyEntry | None:
    """Read one key and everything the edge needs about it; None if unknown or revoked."""
    query = (
        sa.select(
            api_keys.c.token_hash,
            api_keys.c.expires_at,
            api_keys.c.revoked_at,
            apps.c.id.label("app_id"),
            apps.c.name.label("app_name"),
            apps.c.status.label("app_status"),
            organisations.c.id.label("org_id"),
            organisations.c.name.label("org_name"),
            organisations.c.status.label("org_status"),
            organisations.c.billing_day,
            plans.c.name.label("plan_name"),
            plans.c.definition,
        )
        .select_from(
            api_keys.join(apps, apps.c.id == api_keys.c.app_id)
            .join(organisations, organisations.c.id == apps.c.org_id)
            .join(plans, plans.c.name == organisations.c.plan_name)
        )
        .where(api_keys.c.id == key_id)
    )
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
        if row is None or row["revoked_at"] is not None:
            return None
        agreement = conn.execute(
            sa.select(agreement_versions.c.id, agreement_versions.c.terms)
            .order_by(agreement_versions.c.id.desc())
            .limit(1)
        ).first()
        current = None if agreement is None else agreement.id
        accepted = current is not None and (
            conn.execute(
                sa.select(agreement_acceptances.c.id)
                .where(agreement_acceptances.c.org_id == row["org_id"])
                .where(agreement_acceptances.c.agreement_id == current)
                .limit(1)
            ).first()
            is not None
        )
        refused: Mapping[str, str] = {}
        if agreement is not None:
            # Any change to end users or the agreement flushes the directory, so this is
            # read once per key and change, never per request.
            policy = AgreementTerms.model_validate(agreement.terms).government_use
            government = conn.execute(
                sa.select(end_users.c.name, end_users.c.approved)
                .where(end_users.c.org_id == row["org_id"])
                .where(end_users.c.sector == Sector.GOVERNMENT.value)
            ).all()
            refused = refused_end_users(policy, ((r.name, bool(r.approved)) for r in government))
    refusal: Refusal | None = None
    if row["org_status"] == OrgStatus.TERMINATED:
        refusal = Refusal.ORG_TERMINATED
    elif row["org_status"] != OrgStatus.ACTIVE:
        refusal = Refusal.ORG_SUSPENDED
    elif row["app_status"] != AppStatus.ACTIVE:
        refusal = Refusal.APP_SUSPENDED
    elif not accepted:
        refusal = Refusal.AGREEMENT_NOT_ACCEPTED
    plan: Plan = plan_from_dict(row["plan_name"], row["definition"])
    context = RequestContext(
        org_id=row["org_id"],
        org_name=row["org_name"],
        app_id=row["app_id"],
        app_name=row["app_name"],
        key_id=key_id,
        plan=plan,
        billing_day=row["billing_day"],
    )
    return KeyEntry(row["token_hash"], _epoch(row["expires_at"]), refusal, context, refused)


class KeyDirectory:
    """Cached key → entry map for one process, flushed on any access change anywhere."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._entries: dict[str, KeyEntry | None] = {}
        # Tokens already verified, keyed by their SHA-256 digest (never the token itself): a hit
        # skips the checksum, the key-id lookup and the compare on every later request.
        self._verified: dict[bytes, KeyEntry] = {}
        self._generation = 0
        self._lock = threading.Lock()
        self._watcher: ChangeWatcher | None = None

    def watch(self, redis_url: str | None = None, database_url: str | None = None) -> None:
        """Start flushing on changes seen in the version row (and Redis, if given)."""
        if self._watcher is None:
            self._watcher = ChangeWatcher(self._engine, self.flush, redis_url, database_url)
            self._watcher.start()

    def close(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None

    def get(self, key_id: str) -> KeyEntry | _Missing | None:
        """The cached entry (None: known not to exist), or MISSING: call `load`."""
        return self._entries.get(key_id, MISSING)

    def verified(self, digest: bytes) -> KeyEntry | None:
        """The entry of a token verified before (by its SHA-256 digest), or None."""
        return self._verified.get(digest)

    def remember(self, digest: bytes, entry: KeyEntry, generation: int) -> None:
        """Record a verified token, unless access changed since `generation` was read."""
        with self._lock:
            if generation == self._generation:
                if len(self._verified) >= MAX_ENTRIES:
                    self._verified = {}
                self._verified[digest] = entry

    @property
    def generation(self) -> int:
        return self._generation

    def load(self, key_id: str) -> KeyEntry | None:
        """Load from the database and cache, unless access changed while we were reading."""
        generation = self._generation
        entry = load_entry(self._engine, key_id)
        with self._lock:
            if generation == self._generation:
                if len(self._entries) >= MAX_ENTRIES:
                    self._entries = {}
                self._entries[key_id] = entry
        return entry

    def flush(self) -> None:
        """Forget everything (access changed)."""
        with self._lock:
            self._generation += 1
            self._entries = {}
            self._verified = {}
