"""Signed notes and checkpoints: Go sumdb/note's published example byte for byte, and the
signature rules (unknown cosignatures ignored, a known key's bad signature rejected)."""

from __future__ import annotations

import base64

import pytest

from tollhouse_verify.checkpoint import Checkpoint, open_checkpoint
from tollhouse_verify.errors import BadSignature, FormatError, NoteError
from tollhouse_verify.note import Signer, Verifier, open_note, sign

# golang.org/x/mod/sumdb/note's package example (facts, reproduced byte for byte).
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_SIGNATURE = (
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqd"
    "ngotpRZb6KE6RyyBwJnAM=\n"
)


def test_go_sumdb_note_example_byte_for_byte() -> None:
    signer = Signer.parse(GO_SKEY)
    assert str(signer.verifier) == GO_VKEY
    assert sign(GO_TEXT, [signer]) == GO_TEXT + "\n" + GO_SIGNATURE
    opened = open_note(GO_TEXT + "\n" + GO_SIGNATURE, [Verifier.parse(GO_VKEY)])
    assert opened.text == GO_TEXT
    assert [str(v) for v in opened.signed_by] == [GO_VKEY]


def test_an_unknown_extra_signature_is_accepted_and_a_known_bad_one_rejected() -> None:
    other = Signer.from_seed("witness.example", b"\x07" * 32)
    note = sign(GO_TEXT, [Signer.parse(GO_SKEY), other])
    opened = open_note(note, [Verifier.parse(GO_VKEY)])
    assert opened.unknown_signatures == 1
    # Twin: the known key's signature with one bit flipped.
    line = GO_SIGNATURE.split(" ")
    raw = bytearray(base64.b64decode(line[2]))
    raw[10] ^= 1
    bad = GO_TEXT + "\n" + f"{line[0]} {line[1]} {base64.b64encode(bytes(raw)).decode()}\n"
    with pytest.raises(BadSignature):
        open_note(bad, [Verifier.parse(GO_VKEY)])
    # Signed by nobody the reader knows.
    with pytest.raises(BadSignature):
        open_note(sign(GO_TEXT, [other]), [Verifier.parse(GO_VKEY)])
    # The text changed after signing.
    with pytest.raises(BadSignature):
        open_note(
            GO_TEXT.replace("answer", "Answer") + "\n" + GO_SIGNATURE, [Verifier.parse(GO_VKEY)]
        )


@pytest.mark.parametrize(
    "note",
    [
        GO_TEXT + GO_SIGNATURE,  # no blank line
        GO_TEXT + "\n" + GO_SIGNATURE[:-1],  # no final newline
        GO_TEXT + "\n" + GO_SIGNATURE.replace("\u2014", "-"),
        GO_TEXT + "\n" + GO_SIGNATURE.replace("=\n", "\n"),
        "a\x01b\n\n" + GO_SIGNATURE,
    ],
)
def test_malformed_notes_are_rejected(note: str) -> None:
    with pytest.raises(NoteError):
        open_note(note, [Verifier.parse(GO_VKEY)])


@pytest.mark.parametrize(
    "vkey",
    [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong hash
        "PeterNeumann+c74f20a3+AhpcMQcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # other alg
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3",
    ],
)
def test_bad_verifier_keys_are_rejected(vkey: str) -> None:
    with pytest.raises(NoteError):
        Verifier.parse(vkey)


def test_checkpoint_round_trip_and_origin() -> None:
    signer = Signer.from_seed("example.com/usage/7", b"\x01" * 32)
    cp = Checkpoint("example.com/usage/7", 20852163, b"\x0a" * 32)
    note = cp.sign([signer])
    assert note.startswith(
        "example.com/usage/7\n20852163\nCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgo=\n\n"
    )
    opened = open_checkpoint(note, [signer.verifier], "example.com/usage/7")
    assert opened.checkpoint == cp
    with pytest.raises(FormatError):
        open_checkpoint(note, [signer.verifier], "example.com/usage/8")


@pytest.mark.parametrize(
    "body",
    [
        "o\n012\nCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgo=\n",
        "o\n-1\nCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgo=\n",
        "o\n1\nCgoKCgo=\n",
        "o o\n1\nCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgo=\n",
        "o\n1\n",
    ],
)
def test_bad_checkpoint_bodies(body: str) -> None:
    with pytest.raises(FormatError):
        Checkpoint.parse_body(body)
