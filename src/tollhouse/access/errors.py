"""Errors of the access domain (mapped to X Problems at the API edge, exit codes in the CLI)."""

from __future__ import annotations

from tollhouse.errors import Conflict, InvalidInput, NotFound


class UnknownName(NotFound):
    """An organisation, app, plan, key or end user that does not exist."""


class DuplicateName(Conflict):
    """A name that is already taken."""


class TooManyApps(Conflict):
    """The change would leave an organisation with more apps than its plan allows."""


class InvalidPlanBook(InvalidInput):
    """A plans.toml that cannot be loaded (unknown endpoint, bad number, missing field)."""


class NoAgreement(Conflict):
    """No agreement version has been published yet."""
