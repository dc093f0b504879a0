"""Compliance tables: content events, batch compliance jobs, and the notices licensees got."""

from __future__ import annotations

import sqlalchemy as sa

from tollhouse.db import metadata

TS = sa.DateTime(timezone=True)

# Every change of a post's or user's state, in the order it happened. `subject` is "post" or
# "user"; `event` is X's compliance-stream name (delete, tweet_edit, withheld, scrub_geo,
# user_delete, user_undelete, user_protect, …); `details` what the event carries beside the id
# (withheld_in_countries, edit_tweet_ids, up_to_tweet_id, profile_field/new_value).
content_events = sa.Table(
    "content_events",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column("subject", sa.String(4), nullable=False),
    sa.Column("subject_id", sa.BigInteger, nullable=False),
    sa.Column("event", sa.String(32), nullable=False),
    sa.Column("occurred_at", TS, nullable=False),
    sa.Column("details", sa.JSON, nullable=True),
    sa.Column("recorded_at", TS, nullable=False),
    sa.Index("ix_content_events_subject", "subject", "subject_id", "occurred_at"),
    sa.Index("ix_content_events_occurred_at", "occurred_at"),
)

compliance_jobs = sa.Table(
    "compliance_jobs",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("org_id", sa.BigInteger, nullable=False),
    sa.Column("app_id", sa.BigInteger, nullable=False),
    sa.Column("type", sa.String(8), nullable=False),
    sa.Column("name", sa.String(64), nullable=True),
    sa.Column("resumable", sa.Boolean, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("upload_token", sa.String(64), nullable=False, unique=True),
    sa.Column("download_token", sa.String(64), nullable=False, unique=True),
    sa.Column("uploaded_at", TS, nullable=True),
    sa.Column("completed_at", TS, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    # The distinct valid ids uploaded (sorted int64, little-endian: uploads are sparse snowflakes,
    # where this is smaller than a roaring bitmap), the JSONL result, and the notice keys of the
    # events it lists (an orjson list; see job_results.notice_key).
    sa.Column("uploaded_ids", sa.LargeBinary, nullable=True),
    sa.Column("result", sa.LargeBinary, nullable=True),
    sa.Column("notices", sa.LargeBinary, nullable=True),
    sa.Index("ix_compliance_jobs_app_type", "app_id", "type", "created_at"),
    sa.Index("ix_compliance_jobs_org", "org_id", "created_at"),
    # One active job per type per app, even when two creates race (jobs whose upload window
    # passed are marked expired before a new one is inserted).
    sa.Index(
        "uq_compliance_jobs_active",
        "app_id",
        "type",
        unique=True,
        sqlite_where=sa.text("status IN ('created', 'in_progress')"),
        postgresql_where=sa.text("status IN ('created', 'in_progress')"),
    ),
)

# When an organisation was told of a content event: the first compliance-stream delivery to one
# of its apps, the first download of a job result listing it, or an operator's notice. One row
# per (organisation, event): a later notice of the same event (a backfill re-send, a second
# download) changes nothing.
compliance_notices = sa.Table(
    "compliance_notices",
    metadata,
    sa.Column("org_id", sa.BigInteger, primary_key=True),
    sa.Column("event_key", sa.String(40), primary_key=True),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("noticed_at", TS, nullable=False),
    sa.Column("reference", sa.String(64), nullable=True),
)
