"""Metering tables: raw usage events (kept `raw_event_retention_days`), hourly rollups and
per-day distinct-post sketches (both kept forever)."""

from __future__ import annotations

import sqlalchemy as sa

from tollhouse.db import metadata

# Rollups and sketches key unknown licensee ids (a refused request with no valid key) as 0, so
# that the composite primary key never holds NULL (NULLs never conflict, so upserts would not).
UNKNOWN_ID = 0

usage_events = sa.Table(
    "usage_events",
    metadata,
    sa.Column("request_id", sa.String(36), primary_key=True),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("org_id", sa.BigInteger),
    sa.Column("app_id", sa.BigInteger),
    sa.Column("key_id", sa.String(64)),
    sa.Column("endpoint", sa.String(64), nullable=False),
    sa.Column("method", sa.String(8), nullable=False),
    sa.Column("status", sa.SmallInteger, nullable=False),
    sa.Column("posts", sa.Integer, nullable=False),
    sa.Column("new_posts", sa.Integer, nullable=False),
    sa.Column("bytes", sa.BigInteger, nullable=False),
    sa.Column("duration_us", sa.BigInteger, nullable=False),
    sa.Column("client_ip", sa.String(64)),
    sa.Column("user_agent", sa.String(512)),
    sa.Column("end_user", sa.String(200)),
    sa.Column("end_user_id", sa.BigInteger),
    # What compliance's rules read (migration 0009): the client's /24 or /48, a search's query
    # string, a stream interval's rules (JSON list) and the delivered post ids (network.py).
    sa.Column("client_network", sa.String(64)),
    sa.Column("query_string", sa.Text),
    sa.Column("stream_rules", sa.JSON(none_as_null=True)),
    sa.Column("post_ids", sa.LargeBinary),
    sa.Index("ix_usage_events_org_id_occurred_at", "org_id", "occurred_at"),
)

usage_rollups = sa.Table(
    "usage_rollups",
    metadata,
    sa.Column("org_id", sa.BigInteger, primary_key=True),
    sa.Column("hour", sa.DateTime(timezone=True), primary_key=True),
    sa.Column("app_id", sa.BigInteger, primary_key=True),
    sa.Column("endpoint", sa.String(64), primary_key=True),
    sa.Column("status_class", sa.SmallInteger, primary_key=True),
    sa.Column("requests", sa.BigInteger, nullable=False),
    sa.Column("posts", sa.BigInteger, nullable=False),
    sa.Column("new_posts", sa.BigInteger, nullable=False),
    sa.Column("bytes", sa.BigInteger, nullable=False),
    sa.Column("errors", sa.BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

usage_sketches = sa.Table(
    "usage_sketches",
    metadata,
    sa.Column("org_id", sa.BigInteger, primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("app_id", sa.BigInteger, primary_key=True),
    sa.Column("sketch", sa.LargeBinary, nullable=False),
)

# The hourly rollups summed per UTC day, maintained in the same transaction. A usage query is
# over whole days, so all but `--by hour` read these: a year of the heaviest licensee is ~30 k
# rows here instead of ~770 k hourly ones (bench/metering.py, query part).
usage_rollups_daily = sa.Table(
    "usage_rollups_daily",
    metadata,
    sa.Column("org_id", sa.BigInteger, primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("app_id", sa.BigInteger, primary_key=True),
    sa.Column("endpoint", sa.String(64), primary_key=True),
    sa.Column("status_class", sa.SmallInteger, primary_key=True),
    sa.Column("requests", sa.BigInteger, nullable=False),
    sa.Column("posts", sa.BigInteger, nullable=False),
    sa.Column("new_posts", sa.BigInteger, nullable=False),
    sa.Column("bytes", sa.BigInteger, nullable=False),
    sa.Column("errors", sa.BigInteger, nullable=False),
    sqlite_with_rowid=False,
)
