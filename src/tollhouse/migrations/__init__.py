"""Alembic migrations of every domain (one history; `tollhouse.migrations.runner` runs them).

A usage database of its own (`db.usage_database_url`) runs the same history with only the
metering domain's operations: `runner.upgrade` sets the `domains` attribute, and every
revision of another domain starts with `if not applies("corpus"): return` (or its domain);
metering's own revisions run everywhere.
The main database runs everything, so its (then unused) usage tables keep the same schema on
every deployment, split or not."""

from __future__ import annotations

from alembic import context

ALL_DOMAINS = None


def applies(domain: str) -> bool:
    """Whether this run migrates `domain`'s tables."""
    domains = context.config.attributes.get("domains", ALL_DOMAINS)
    return domains is None or domain in domains
