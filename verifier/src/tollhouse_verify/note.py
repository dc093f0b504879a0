"""C2SP signed notes (c2sp.org/signed-note; Go's golang.org/x/mod/sumdb/note), Ed25519 only.

    <text, ending in "\n">
    <blank line>
    — <key name> <base64(key id[4] ‖ signature[64])>      one line per signature

The key id is SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key)[:4]. A verifier key is written
`name+<key id, 8 hex>+base64(0x01 ‖ public key)`, a signer key
`PRIVATE+KEY+name+<key id>+base64(0x01 ‖ seed)`. Reading a note: signatures by keys the reader
does not know are ignored (others may cosign); a known key's bad signature rejects the note;
so does a note no known key signed.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from hashlib import sha256

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tollhouse_verify.errors import BadSignature, NoteError

ALG_ED25519 = 0x01
DASH = "\u2014"  # EM DASH, as the format requires
MAX_SIGNATURES = 100


def _valid_name(name: str) -> bool:
    return bool(name) and name.isprintable() and not any(c.isspace() or c == "+" for c in name)


def key_id(name: str, alg_and_key: bytes) -> bytes:
    """The 4-byte id of key `alg_and_key` (algorithm byte ‖ public key) named `name`."""
    return sha256(name.encode() + b"\n" + alg_and_key).digest()[:4]


def _b64decode(text: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NoteError(f"not base64: {text[:40]!r}") from exc
    if base64.b64encode(raw).decode() != text:
        raise NoteError(f"not canonical base64: {text[:40]!r}")
    return raw


@dataclass(frozen=True)
class Verifier:
    """One Ed25519 verifier key of a signed note."""

    name: str
    id: bytes
    public_key: bytes

    @classmethod
    def parse(cls, vkey: str) -> Verifier:
        """A verifier from its `name+hash+base64` text."""
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3 or not _valid_name(parts[0]) or len(parts[1]) != 8:
            raise NoteError(f"not a verifier key (name+hash+key): {vkey[:60]!r}")
        name, hex_id, b64 = parts
        try:
            id_ = bytes.fromhex(hex_id)
        except ValueError as exc:
            raise NoteError("the verifier key's hash is not 8 hex digits") from exc
        raw = _b64decode(b64)
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise NoteError("the verifier key is not an Ed25519 key")
        if key_id(name, raw) != id_:
            raise NoteError("the verifier key's hash does not match its name and key")
        return cls(name, id_, raw[1:])

    def __str__(self) -> str:
        key = base64.b64encode(bytes([ALG_ED25519]) + self.public_key).decode()
        return f"{self.name}+{self.id.hex()}+{key}"

    def verify(self, text: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, text)
        except InvalidSignature:
            return False
        return True


class Signer:
    """An Ed25519 signer of notes under key name `name`."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        if not _valid_name(name):
            raise NoteError(f"a key name has no spaces or '+': {name!r}")
        self.name = name
        self._key = private_key
        public = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.verifier = Verifier(name, key_id(name, bytes([ALG_ED25519]) + public), public)

    @classmethod
    def from_seed(cls, name: str, seed: bytes) -> Signer:
        return cls(name, Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def parse(cls, skey: str) -> Signer:
        """A signer from its `PRIVATE+KEY+name+hash+base64` text."""
        parts = skey.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("not a signer key (PRIVATE+KEY+name+hash+key)")
        raw = _b64decode(parts[4])
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise NoteError("the signer key is not an Ed25519 key")
        signer = cls.from_seed(parts[2], raw[1:])
        if signer.verifier.id.hex() != parts[3]:
            raise NoteError("the signer key's hash does not match its name and key")
        return signer

    def signature_line(self, text: bytes) -> str:
        sig = self._key.sign(text)
        return f"{DASH} {self.name} {base64.b64encode(self.verifier.id + sig).decode()}\n"


def sign(text: str, signers: Sequence[Signer]) -> str:
    """The signed note of `text` (which must end in a newline)."""
    body = _check_text(text)
    return text + "\n" + "".join(s.signature_line(body) for s in signers)


def _check_text(text: str) -> bytes:
    if not text.endswith("\n"):
        raise NoteError("a note's text ends with a newline")
    if "\n\n" in text or any(c != "\n" and not c.isprintable() for c in text):
        raise NoteError("a note's text has no blank lines and no control characters")
    return text.encode()


@dataclass(frozen=True)
class OpenedNote:
    """A note whose signatures were checked: its text and the known keys that signed it."""

    text: str
    signed_by: tuple[Verifier, ...]
    unknown_signatures: int


def open_note(note: str | bytes, verifiers: Iterable[Verifier]) -> OpenedNote:
    """Check `note`'s signatures against `verifiers`; raise NoteError / BadSignature unless
    a known key signed it and no known key's signature is bad."""
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NoteError("a note is UTF-8") from exc
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("a note has a blank line between its text and its signatures")
    text, block = note[: split + 1], note[split + 2 :]
    body = _check_text(text)
    if not block.endswith("\n"):
        raise NoteError("a note's signature lines end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"a note has at most {MAX_SIGNATURES} signatures")
    known = {(v.name, v.id): v for v in verifiers}
    signed: list[Verifier] = []
    unknown = 0
    for line in lines:
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != DASH or not _valid_name(parts[1]):
            raise NoteError(f"not a signature line: {line[:60]!r}")
        raw = _b64decode(parts[2])
        if len(raw) < 5:
            raise NoteError("a signature line is too short")
        verifier = known.get((parts[1], raw[:4]))
        if verifier is None:
            unknown += 1
            continue
        if verifier in signed:
            raise NoteError(f"two signatures by {verifier.name}")
        if len(raw) != 68 or not verifier.verify(body, raw[4:]):
            raise BadSignature(f"the signature by {verifier.name} does not verify")
        signed.append(verifier)
    if not signed:
        raise BadSignature("no known key signed the note")
    return OpenedNote(text, tuple(signed), unknown)
