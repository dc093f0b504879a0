"""Errors of the limits domain (mapped to X Problems at the API edge)."""

from __future__ import annotations

from tollhouse.errors import ServiceUnavailable


class LimitsUnavailable(ServiceUnavailable):
    """The backend could not be asked (Redis down or too slow); the failure policy decides."""
