"""API keys as an operator manages them: minting, revoking, rotating with a grace period, listing.

Tokens are returned once by `create_key`/`rotate_key` and are never stored, logged or put in the
audit trail. (`access.keys` defines the token format and its hash.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy import Connection

from tollhouse.access import keys as tokens
from tollhouse.access.changes import Changes, audit
from tollhouse.access.lookups import app_row, key_row
from tollhouse.access.models import api_keys, apps
from tollhouse.access.views import KeyCreated, KeyView, iso, key_view, now
from tollhouse.errors import InvalidInput

DEFAULT_GRACE = timedelta(hours=24)
MAX_GRACE = timedelta(days=30)


@dataclass
class KeyService:
    changes: Changes

    def create_key(self, app: str, actor: str) -> KeyCreated:
        """Mint a key for `app`. The token is in the result and nowhere else, ever."""

        def change(conn: Connection) -> KeyCreated:
            row = app_row(conn, app)
            minted = tokens.new_token()
            at = now()
            conn.execute(
                api_keys.insert().values(
                    id=minted.key_id, app_id=row["id"], token_hash=minted.token_hash,
                    created_at=at,
                )
            )  # fmt: skip
            after = {"id": minted.key_id, "app": row["name"], "created_at": iso(at)}
            audit(conn, actor, "key.create", "key", minted.key_id, None, after)
            return KeyCreated(minted.key_id, row["name"], minted.token)

        return self.changes.write(change)

    def revoke_key(self, key_id: str, actor: str) -> KeyView:
        def change(conn: Connection) -> KeyView:
            row = key_row(conn, key_id)
            app_name = conn.execute(
                sa.select(apps.c.name).where(apps.c.id == row["app_id"])
            ).scalar_one()
            before = key_view(row, app_name)
            if row["revoked_at"] is not None:
                raise InvalidInput(f"key {key_id} is already revoked")
            conn.execute(api_keys.update().where(api_keys.c.id == key_id).values(revoked_at=now()))
            view = key_view(key_row(conn, key_id), app_name)
            audit(conn, actor, "key.revoke", "key", key_id, before.to_dict(), view.to_dict())
            return view

        return self.changes.write(change)

    def rotate_key(self, key_id: str, actor: str, grace: timedelta = DEFAULT_GRACE) -> KeyCreated:
        """Mint a replacement; the old key keeps working until the grace period ends."""
        if grace < timedelta(0) or grace > MAX_GRACE:
            raise InvalidInput("the grace period must be between 0 and 30 days")

        def change(conn: Connection) -> KeyCreated:
            row = key_row(conn, key_id)
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
            after = key_view(key_row(conn, key_id), app_name).to_dict()
            audit(conn, actor, "key.rotate", "key", key_id, before.to_dict(), after)
            audit(
                conn, actor, "key.create", "key", minted.key_id, None,
                {"id": minted.key_id, "app": app_name, "created_at": iso(at), "replaces": key_id},
            )  # fmt: skip
            return KeyCreated(minted.key_id, app_name, minted.token, key_id, iso(expires))

        return self.changes.write(change)

    def list_keys(self, app: str) -> list[KeyView]:
        with self.changes.engine.connect() as conn:
            row = app_row(conn, app)
            rows = conn.execute(
                sa.select(api_keys)
                .where(api_keys.c.app_id == row["id"])
                .order_by(api_keys.c.created_at)
            ).mappings()
            return [key_view(k, row["name"]) for k in rows]
