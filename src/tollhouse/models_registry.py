"""Imports every domain's tables so that `tollhouse.db.metadata` knows them all."""

from __future__ import annotations

from sqlalchemy import MetaData


def all_metadata() -> MetaData:
    """The shared metadata with every domain's tables registered."""
    import tollhouse.corpus.models  # noqa: F401
    from tollhouse.db import metadata

    for module in (
        "tollhouse.access.models",
        "tollhouse.metering.models",
        "tollhouse.receipts.models",
        "tollhouse.streams.models",
    ):
        try:
            __import__(module)
        except ModuleNotFoundError:
            continue
    return metadata
