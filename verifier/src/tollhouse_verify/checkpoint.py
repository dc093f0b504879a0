"""C2SP checkpoints (c2sp.org/tlog-checkpoint): the signed note of a tree head.

    <origin>
    <size, decimal, no leading zeros>
    <root, standard base64>

Extension lines are accepted when reading but never written (monitors cannot audit them).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

from tollhouse_verify import note as notes
from tollhouse_verify.errors import FormatError, NoteError, WrongOrigin
from tollhouse_verify.tree import HASH_SIZE


def _decimal(text: str, what: str) -> int:
    if not text.isascii() or not text.isdigit() or (len(text) > 1 and text[0] == "0"):
        raise FormatError(f"{what} is a decimal number without leading zeros: {text[:30]!r}")
    value = int(text)
    if value >= 1 << 63:
        raise FormatError(f"{what} is out of range")
    return value


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: the log's origin, its size and its root."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        """The note text."""
        lines = [
            self.origin,
            str(self.size),
            base64.b64encode(self.root).decode(),
            *self.extensions,
        ]
        return "\n".join(lines) + "\n"

    def sign(self, signers: Sequence[notes.Signer]) -> str:
        return notes.sign(self.body(), signers)

    @classmethod
    def parse_body(cls, text: str) -> Checkpoint:
        if not text.endswith("\n"):
            raise FormatError("a checkpoint's text ends with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise FormatError("a checkpoint has an origin, a size and a root")
        origin, size, root = lines[:3]
        if not origin or " " in origin or "+" in origin:
            raise FormatError(f"not a checkpoint origin: {origin[:60]!r}")
        try:
            raw = base64.b64decode(root, validate=True)
        except ValueError as exc:
            raise FormatError("the checkpoint's root is not base64") from exc
        if len(raw) != HASH_SIZE or base64.b64encode(raw).decode() != root:
            raise FormatError("the checkpoint's root is not a canonical base64 SHA-256")
        return cls(origin, _decimal(size, "the checkpoint's size"), raw, tuple(lines[3:]))


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint whose note was verified, with the note's exact text."""

    checkpoint: Checkpoint
    note: str
    signed_by: tuple[notes.Verifier, ...]


def open_checkpoint(
    text: str | bytes, verifiers: Sequence[notes.Verifier], origin: str | None = None
) -> SignedCheckpoint:
    """Verify a checkpoint note: its signature by one of `verifiers` and, if given, its origin
    (which is also a verifier's key name: the C2SP convention)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NoteError("a checkpoint note is UTF-8") from exc
    opened = notes.open_note(text, verifiers)
    checkpoint = Checkpoint.parse_body(opened.text)
    if origin is not None and checkpoint.origin != origin:
        raise WrongOrigin(f"the checkpoint is of log {checkpoint.origin!r}, not {origin!r}")
    return SignedCheckpoint(checkpoint, text, opened.signed_by)
