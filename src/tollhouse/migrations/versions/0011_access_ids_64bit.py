"""access: every id column 64-bit (BIGINT on PostgreSQL, with BIGINT sequences)

SQLite's INTEGER is already 64-bit, so this changes nothing there. On PostgreSQL the access
tables were created with 32-bit `integer` ids and `serial` sequences, which refuse (with a
database error) any id above 2 147 483 647.

Revision ID: 0011_access_ids_64bit
Revises: 0002_access
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

from tollhouse.migrations import applies

revision = "0011_access_ids_64bit"
down_revision = "0002_access"
branch_labels = None
depends_on = None

# (table, column, whether a sequence numbers it)
ID_COLUMNS = (
    ("organisations", "id", True),
    ("apps", "id", True),
    ("apps", "org_id", False),
    ("api_keys", "app_id", False),
    ("end_users", "id", True),
    ("end_users", "org_id", False),
    ("agreement_versions", "id", True),
    ("agreement_acceptances", "id", True),
    ("agreement_acceptances", "org_id", False),
    ("agreement_acceptances", "agreement_id", False),
    ("admin_audit", "id", True),
    ("access_version", "id", False),
)


def _alter(to: str) -> None:
    for table, column, numbered in ID_COLUMNS:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE {to}")
        if numbered:
            # A serial's sequence has the column's type and its maximum; it follows the column.
            op.execute(f"ALTER SEQUENCE IF EXISTS {table}_{column}_seq AS {to}")


def upgrade() -> None:
    if not applies("access") or op.get_bind().dialect.name == "sqlite":
        return
    _alter("bigint")


def downgrade() -> None:
    if not applies("access") or op.get_bind().dialect.name == "sqlite":
        return
    _alter("integer")
