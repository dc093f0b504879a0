"""Receipts' errors."""

from __future__ import annotations

from tollhouse.errors import ConfigurationError, InvalidInput, NotFound, TollhouseError


class ReceiptsError(TollhouseError):
    """Base of what receipts refuse."""


class NotCheckpointed(ReceiptsError, NotFound):
    """The log (or the entry asked for) is in no signed checkpoint yet."""


class BadProofRequest(ReceiptsError, InvalidInput):
    """A proof or tile asked for that the latest checkpoint does not cover."""


class BadSigningKey(ReceiptsError, ConfigurationError):
    """The configured checkpoint signing key is not a base64 Ed25519 seed."""
