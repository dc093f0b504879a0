"""Errors of the findings domain."""

from __future__ import annotations

from tollhouse.errors import Conflict, InvalidInput, NotFound


class UnknownFinding(NotFound):
    """No finding has that id."""


class InvalidTransition(Conflict):
    """The finding's status does not allow that change (a resolved finding cannot be acked)."""


class InvalidRulesFile(InvalidInput):
    """The rules file cannot be read or has a bad value."""
