"""Errors of the corpus domain (the query language's are in corpus/query/errors.py)."""

from __future__ import annotations

from tollhouse.errors import ServiceUnavailable


class QueryTimedOut(ServiceUnavailable):
    """A statement ran past the deadline and was cancelled."""
