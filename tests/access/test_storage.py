"""The database never holds a token: read the SQLite file (and its WAL) byte by byte."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from tollhouse.access.keys import PREFIX, hash_token
from tollhouse.access.service import AccessService, onboard


def test_sqlite_file_holds_no_plaintext_token(sqlite_engine: Engine) -> None:
    service = AccessService(sqlite_engine)
    done = onboard(service, "Acme", "pro", ["one", "two"])
    rotated = service.rotate_key(done.keys[0].id, "op")
    tokens = [k.token for k in done.keys] + [rotated.token]
    path = Path(str(sqlite_engine.url.database))
    raw = b"".join(
        p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()
    )
    for token in tokens:
        secret = token[len(PREFIX) + 10 : -6]
        assert token.encode() not in raw
        assert secret.encode() not in raw
        # What is stored instead: the key id and the hash (so we did read the right bytes).
        assert hash_token(token).encode() in raw
        assert token[len(PREFIX) : len(PREFIX) + 10].encode() in raw
