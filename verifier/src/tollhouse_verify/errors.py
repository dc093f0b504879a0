"""What goes wrong when reading the log's formats. One tree: `VerifyError` at the root."""

from __future__ import annotations


class VerifyError(Exception):
    """Something in the log's data or proofs does not check out."""


class ProofError(VerifyError):
    """A Merkle proof is malformed or does not lead to the expected root."""


class NoteError(VerifyError):
    """A signed note is malformed, or its signatures do not verify."""


class BadSignature(NoteError):
    """A known key's signature on a note does not verify (or no known key signed it)."""


class FormatError(VerifyError):
    """Text or bytes that are not in the format they claim (a checkpoint, a tile, a leaf)."""


class WrongOrigin(FormatError):
    """A checkpoint or entry of another log than the one being checked."""
