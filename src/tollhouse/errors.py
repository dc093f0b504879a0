"""The root of every error Tollhouse raises on purpose.

Domain code raises these; only the API edge (`tollhouse.api.problems`) chooses an HTTP status and
an X `Problem` body for them, and only the CLI chooses an exit code.
"""

from __future__ import annotations


class TollhouseError(Exception):
    """Base class: a refusal or failure Tollhouse understands and can explain."""


class ConfigurationError(TollhouseError):
    """Settings are missing or invalid; raised at start-up, never per request."""


class NotFound(TollhouseError):
    """A named thing (organisation, app, plan, post…) does not exist."""


class Conflict(TollhouseError):
    """The change would break a uniqueness or consistency rule (duplicate name, too many apps)."""


class InvalidInput(TollhouseError):
    """Input that passed the edge's shape checks but breaks a domain rule."""
