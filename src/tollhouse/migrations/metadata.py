"""Imports every domain's tables so that `tollhouse.db.metadata` knows them all (Alembic's
`target_metadata`, and the tests that compare it with the migrated schema)."""

from __future__ import annotations

from sqlalchemy import MetaData


def all_metadata() -> MetaData:
    """The shared metadata with every domain's tables registered."""
    import tollhouse.access.models
    import tollhouse.compliance.findings.models
    import tollhouse.corpus.models
    import tollhouse.metering.models
    import tollhouse.streams.models  # noqa: F401
    from tollhouse.db import metadata

    return metadata
