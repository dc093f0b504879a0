"""C2SP tlog-proof receipts (c2sp.org/tlog-proof): one entry's inclusion in a signed tree.

c2sp.org/tlog-proof@v1
extra <base64>            optional (here: the entry itself)
index <i>
<base64 hash>             one line per proof hash, nearest the leaf first
<blank line>
<checkpoint note>
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

from tollhouse_verify import checkpoint as checkpoints
from tollhouse_verify import note
from tollhouse_verify.errors import FormatError
from tollhouse_verify.tree import HASH_SIZE, verify_inclusion

HEADER = "c2sp.org/tlog-proof@v1"


@dataclass(frozen=True)
class Receipt:
    index: int
    proof: tuple[bytes, ...]
    checkpoint_note: str
    extra: bytes | None = None

    def encode(self) -> str:
        lines = [HEADER]
        if self.extra is not None:
            lines.append("extra " + base64.b64encode(self.extra).decode())
        lines.append(f"index {self.index}")
        lines += [base64.b64encode(p).decode() for p in self.proof]
        return "\n".join(lines) + "\n\n" + self.checkpoint_note

    @classmethod
    def parse(cls, text: str) -> Receipt:
        head, sep, note_text = text.partition("\n\n")
        if not sep:
            raise FormatError("a tlog-proof has a blank line before its checkpoint")
        lines = head.split("\n")
        if lines[0] != HEADER:
            raise FormatError(f"not a {HEADER} receipt")
        pos = 1
        extra = None
        if pos < len(lines) and lines[pos].startswith("extra "):
            extra = _b64(lines[pos][6:], None)
            pos += 1
        if pos >= len(lines) or not lines[pos].startswith("index "):
            raise FormatError("a tlog-proof names its index")
        index_text = lines[pos][6:]
        if not index_text.isdigit() or (len(index_text) > 1 and index_text[0] == "0"):
            raise FormatError("the tlog-proof's index is a decimal number")
        hashes = tuple(_b64(line, HASH_SIZE) for line in lines[pos + 1 :])
        if len(hashes) > 63:
            raise FormatError("a tlog-proof has at most 63 hashes")
        return cls(int(index_text), hashes, note_text, extra)

    def verify(
        self, leaf_hash: bytes, verifiers: Sequence[note.Verifier], origin: str
    ) -> checkpoints.SignedCheckpoint:
        """The receipt's checkpoint, once it is shown signed, of `origin`, and to hold
        `leaf_hash` at the receipt's index; VerifyError otherwise."""
        signed = checkpoints.open_checkpoint(self.checkpoint_note, verifiers, origin)
        cp = signed.checkpoint
        verify_inclusion(leaf_hash, self.index, cp.size, self.proof, cp.root)
        return signed


def _b64(text: str, size: int | None) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise FormatError("a tlog-proof line is not base64") from exc
    if base64.b64encode(raw).decode() != text or (size is not None and len(raw) != size):
        raise FormatError("a tlog-proof line is not a canonical base64 hash")
    return raw
