"""Who signs the logs: one Ed25519 key (settings), one key name per log (its origin).

The C2SP convention names a log's key after its origin, and the key id covers the name, so each
organisation's log has its own verifier key (`<host>/usage/<org id>+<id>+<public key>`) over the
one key pair. Development derives a fixed seed so that a fresh checkout signs the same way every
run; production refuses to start without a configured one (settings).
"""

from __future__ import annotations

import base64
import binascii
from hashlib import sha256

from tollhouse.receipts.errors import BadSigningKey
from tollhouse.receipts.models import OPERATOR_LOG
from tollhouse.settings import Settings
from tollhouse_verify.note import Signer, Verifier

_DEVELOPMENT_SEED = sha256(b"tollhouse development receipts key (not a secret)").digest()


def seed_of(settings: Settings) -> bytes:
    if not settings.receipts_signing_key:
        return _DEVELOPMENT_SEED
    try:
        seed = base64.b64decode(settings.receipts_signing_key, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadSigningKey("receipts_signing_key is not base64") from exc
    if len(seed) != 32:
        raise BadSigningKey("receipts_signing_key is 32 bytes (an Ed25519 seed), base64")
    return seed


def origin(host: str, org_id: int) -> str:
    """The origin of `org_id`'s usage log (OPERATOR_LOG: the operator log of closes)."""
    return f"{host}/usage-roots" if org_id == OPERATOR_LOG else f"{host}/usage/{org_id}"


class LogSigner:
    """Signers and verifier keys of every log, from one seed."""

    def __init__(self, host: str, seed: bytes) -> None:
        self.host = host
        self._seed = seed
        self._signers: dict[int, Signer] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> LogSigner:
        return cls(settings.receipts_host, seed_of(settings))

    def origin(self, org_id: int) -> str:
        return origin(self.host, org_id)

    def signer(self, org_id: int) -> Signer:
        signer = self._signers.get(org_id)
        if signer is None:
            if len(self._signers) > 100_000:
                self._signers.clear()
            signer = self._signers[org_id] = Signer.from_seed(self.origin(org_id), self._seed)
        return signer

    def verifier(self, org_id: int) -> Verifier:
        return self.signer(org_id).verifier


def new_seed() -> str:
    """A fresh random seed, base64, for `receipts_signing_key`."""
    import os

    return base64.b64encode(os.urandom(32)).decode()
