"""One receipts round as a server or the CLI runs it: close the due days, then sign the logs
that are due. The server runs it every few seconds on a thread of its own (`RoundThread`)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from tollhouse.receipts.checkpoints import SignedHead, checkpoint_round
from tollhouse.receipts.day_close import close_round
from tollhouse.receipts.price_book import current_price_book
from tollhouse.receipts.signing import LogSigner
from tollhouse.settings import Settings

log = logging.getLogger("tollhouse.receipts")

TICK_SECONDS = 5.0


def run_round(
    settings: Settings,
    engine: Engine,
    usage_engine: Engine,
    now: datetime | None = None,
    orgs: Sequence[int] | None = None,
    force: bool = False,
) -> list[SignedHead]:
    """Close due days and sign due logs (`force`: every log with new leaves, now)."""
    now = now or datetime.now(UTC)
    signer = LogSigner.from_settings(settings)
    heads: list[SignedHead] = []
    if orgs is None:
        heads += close_round(
            usage_engine,
            signer,
            now,
            settings.receipts_close_grace_seconds,
            current_price_book(engine),
        )
    interval = 0.0 if force else settings.receipts_checkpoint_seconds
    heads += checkpoint_round(usage_engine, signer, now, interval, orgs)
    return heads


class RoundThread:
    """Runs `run_round` every TICK_SECONDS until stopped. Two processes racing for one log
    collide on its checkpoint's key; the loser rolls back and the next tick finds it done."""

    def __init__(self, settings: Settings, engine: Engine, usage_engine: Engine) -> None:
        self._args = (settings, engine, usage_engine)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tollhouse-receipts", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(TICK_SECONDS):
            try:
                run_round(*self._args)
            except (IntegrityError, OperationalError) as exc:
                log.info("receipts round skipped: %s", exc.__class__.__name__)
            except Exception:
                log.exception("receipts round failed")
