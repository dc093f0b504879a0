"""The filtered-stream rule table: one row per rule, owned by an app.

Rule ids are snowflake-like integers (X shows them as decimal strings). A rule value is unique per
app, which is how X answers a duplicate `add` with `DuplicateRule`.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Index, String, Table, Text, UniqueConstraint

from tollhouse.db import metadata

stream_rules = Table(
    "stream_rules",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    # The app's id as text, so that the table does not depend on how access numbers its apps.
    Column("app_id", String(64), nullable=False),
    Column("value", Text, nullable=False),
    Column("tag", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("app_id", "value", name="uq_stream_rules_app_id_value"),
    Index("ix_stream_rules_app_id_id", "app_id", "id"),
)
