"""How every process learns, within a second, that access changed (a key revoked, an org
suspended, a plan edited): the `access_version` row and, when Redis is configured, pub/sub.

Every change bumps `access_version.version` in the same transaction as the change. Each serving
process polls that one row (every 250 ms without Redis, every 5 s as a safety net with it) and
flushes its key cache when the number moves. With Redis, the writer also publishes on a channel
named after the database, and subscribers flush at once.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import weakref
from collections.abc import Callable
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.engine import Engine, make_url

from tollhouse.access.models import access_version
from tollhouse.backoff import Backoff
from tollhouse.settings import Settings

log = logging.getLogger("tollhouse.access")

POLL_INTERVAL = 0.25
POLL_INTERVAL_WITH_REDIS = 5.0


def bump_version(conn: Connection) -> None:
    """Mark access as changed; call inside the transaction that makes the change."""
    conn.execute(sa.update(access_version).where(access_version.c.id == 1).values(
        version=access_version.c.version + 1
    ))  # fmt: skip


def read_version(conn: Connection) -> int:
    value = conn.execute(sa.select(access_version.c.version).where(access_version.c.id == 1))
    return int(value.scalar_one_or_none() or 0)


def redis_url_of(settings: Settings) -> str | None:
    """The Redis to use for change notices: bus_url if Redis, else limits_url if Redis."""
    for url in (settings.bus_url, settings.limits_url):
        if url.startswith(("redis://", "rediss://")):
            return url
    return None


def channel_for(database_url: str) -> str:
    """One channel per database, so processes sharing a database (and only they) hear each other."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        ident = "sqlite:" + os.path.realpath(str(url.database))
    else:
        ident = url.render_as_string(hide_password=True)
    return "tollhouse:access:" + hashlib.sha256(ident.encode()).hexdigest()[:16]


class ChangeNotifier(Protocol):
    def __call__(self) -> None:
        """Tell other processes that access changed (after the change committed)."""


def redis_notifier(redis_url: str, database_url: str) -> ChangeNotifier:
    """Publish a change notice on the database's channel."""
    import redis

    channel = channel_for(database_url)

    def notify() -> None:
        client = redis.Redis.from_url(redis_url)
        try:
            client.publish(channel, b"changed")
        except redis.RedisError:
            # The version row still carries the change; pollers pick it up within 5 s.
            log.warning("could not publish an access change notice to Redis")
        finally:
            client.close()

    return notify


def notifier_from_settings(settings: Settings) -> ChangeNotifier | None:
    url = redis_url_of(settings)
    return None if url is None else redis_notifier(url, settings.database_url)


class ChangeWatcher:
    """Background threads that call `on_change` when access changed anywhere.

    Threads hold only a weak reference to the watcher's owner callback holder, so an app that is
    dropped without a shutdown does not leave a poller behind for long.
    """

    def __init__(
        self,
        engine: Engine,
        on_change: Callable[[], None],
        redis_url: str | None = None,
        database_url: str | None = None,
    ) -> None:
        self._engine = engine
        self._on_change = on_change
        self._stop = threading.Event()
        self._redis_url = redis_url
        self._channel = channel_for(database_url or engine.url.render_as_string(False))
        self.interval = POLL_INTERVAL_WITH_REDIS if redis_url else POLL_INTERVAL
        with engine.connect() as conn:
            self._seen = read_version(conn)
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        ref = weakref.ref(self)
        poller = threading.Thread(target=_poll, args=(ref, self._stop), daemon=True,
                                  name="tollhouse-access-poll")  # fmt: skip
        self._threads.append(poller)
        if self._redis_url:
            listener = threading.Thread(target=_listen, args=(ref, self._stop), daemon=True,
                                        name="tollhouse-access-redis")  # fmt: skip
            self._threads.append(listener)
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()

    def check(self) -> bool:
        """Read the version row once; flush if it moved. Returns whether it moved."""
        with self._engine.connect() as conn:
            current = read_version(conn)
        if current != self._seen:
            self._seen = current
            self._on_change()
            return True
        return False


def _poll(ref: weakref.ref[ChangeWatcher], stop: threading.Event) -> None:
    failures = 0
    while not stop.is_set():
        watcher = ref()
        if watcher is None:
            return
        interval = watcher.interval
        try:
            watcher.check()
            failures = 0
        except Exception:  # a database blip must not kill the watcher
            failures += 1
            if failures == 1:
                log.warning("access version check failed; retrying", exc_info=True)
        del watcher
        stop.wait(interval)


# While Redis is down the listener retries after 1, 2, 4 … s, at most 30 s apart; the version
# row's poll (every 5 s with Redis) still carries every change meanwhile.
LISTENER_BACKOFF = Backoff(initial=1.0, factor=2.0, cap=30.0)


def _listen(
    ref: weakref.ref[ChangeWatcher],
    stop: threading.Event,
    wait: Callable[[float], object] | None = None,
) -> None:
    """Subscribe and flush on every notice; reconnect with `LISTENER_BACKOFF` (waiting with
    `wait`, by default `stop.wait`, so that stopping interrupts a wait)."""
    import redis

    wait = wait or stop.wait
    failures = 0
    while not stop.is_set():
        watcher = ref()
        if watcher is None or watcher._redis_url is None:
            return
        url, channel, on_change = watcher._redis_url, watcher._channel, watcher._on_change
        del watcher
        client = redis.Redis.from_url(url)
        try:
            pubsub = client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
            pubsub.subscribe(channel)
            failures = 0
            # A notice may have been missed while (re)connecting: flush once on subscribe.
            on_change()
            while not stop.is_set() and ref() is not None:
                message = pubsub.get_message(timeout=0.5)
                if message is not None:
                    on_change()
            pubsub.close()
        except redis.RedisError:
            failures += 1
            delay = LISTENER_BACKOFF.delay(failures)
            log.warning("Redis change listener disconnected; retrying in %g s", delay)
            client.close()
            wait(delay)
        finally:
            client.close()
