"""Errors of the metering domain (mapped to X Problems at the API edge)."""

from __future__ import annotations

from tollhouse.errors import ServiceUnavailable


class MeteringUnavailable(ServiceUnavailable):
    """The spool cannot be written, so a strict-mode request cannot be answered."""
