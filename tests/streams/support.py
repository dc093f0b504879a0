"""What the stream tests share: licensees with keys, X v2 post objects, live ingest through the
admin API, a line reader for raw stream responses, and the requests adapter that points
unmodified clients (tweepy, twarc) at a local server."""

from __future__ import annotations

import contextlib
import itertools
import queue
import socket
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import requests
from requests.adapters import HTTPAdapter
from sqlalchemy.engine import Engine

from tollhouse.access.plans import plan_from_dict
from tollhouse.access.service import AccessService, onboard
from tollhouse.corpus.ids import snowflake
from tollhouse.settings import DEFAULT_ADMIN_TOKEN

X_API = "https://api.twitter.com"
ADMIN = {"Authorization": f"Bearer {DEFAULT_ADMIN_TOKEN}"}
STREAM_ENDPOINTS = [
    "/2/tweets/search/stream",
    "/2/tweets/search/stream/rules",
    "/2/tweets/sample/stream",
]
_ids = itertools.count(1)


class LocalX(HTTPAdapter):
    """A transport adapter that sends requests for https://api.twitter.com to a local server."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url

    def send(  # type: ignore[override]  # forwards requests' keyword arguments unchanged
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        assert request.url is not None
        request.url = self.base_url + request.url[len(X_API) :]
        return super().send(request, **kwargs)


def point_at(session: requests.Session, base_url: str) -> requests.Session:
    session.mount(X_API, LocalX(base_url))
    return session


def streaming_plan(
    service: AccessService,
    name: str,
    max_rules: int = 10,
    max_length: int = 64,
    monthly_post_cap: int | None = None,
) -> None:
    """A plan with every stream endpoint and small limits (for the limit tests); a cap given
    here is hard (no overage)."""
    service.install_defaults("test")
    raw: dict[str, Any] = {
        "monthly_fee": "0",
        "endpoints": STREAM_ENDPOINTS,
        "max_apps": 10,
        "max_stream_rules": max_rules,
        "max_query_length": max_length,
    }
    if monthly_post_cap is not None:
        raw["monthly_post_cap"] = monthly_post_cap
    plan = plan_from_dict(name, raw)
    service.load_plans([*service.list_plans(), plan], "test")


def licensee(engine: Engine, org: str, plan: str, apps: Sequence[str]) -> list[str]:
    """Onboard `org` on `plan` with `apps`; the bearer token of each app, in order."""
    made = onboard(AccessService(engine), org, plan, [f"{org}-{app}" for app in apps])
    return [key.token for key in made.keys]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def user_json(user_id: int, username: str) -> dict[str, Any]:
    return {"id": str(user_id), "username": username, "name": username.title()}


def post_json(text: str, author_id: int, **extra: Any) -> dict[str, Any]:
    """An X v2 post object with a fresh, increasing id (created now)."""
    post_id = snowflake(datetime.now(UTC), worker=7, sequence=next(_ids) % 4096)
    return {"id": str(post_id), "text": text, "author_id": str(author_id), "lang": "en", **extra}


def ingest(
    base_url: str,
    posts: Sequence[dict[str, Any]] = (),
    users: Sequence[dict[str, Any]] = (),
    deletions: Sequence[str] = (),
) -> dict[str, Any]:
    body: dict[str, Any] = {"data": list(posts), "includes": {"users": list(users)}}
    if deletions:
        body["deletions"] = list(deletions)
    response = httpx.post(f"{base_url}/admin/v1/posts", json=body, headers=ADMIN, timeout=30)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


class LineReader:
    """Reads a stream response on a thread: posts and errors go to `lines`, keep-alives are
    counted; `connected` is set once the response headers arrived."""

    def __init__(self, base_url: str, path: str, token: str, **params: str) -> None:
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.keepalives = 0
        self.status: int | None = None
        self.ended = threading.Event()
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._response: requests.Response | None = None
        self._thread = threading.Thread(
            target=self._run, args=(base_url + path, token, params), daemon=True
        )
        self._thread.start()
        assert self.connected.wait(10), "stream did not connect"

    def _run(self, url: str, token: str, params: dict[str, str]) -> None:
        try:
            with requests.get(
                url, headers=bearer(token), params=params, stream=True, timeout=30
            ) as response:
                self._response = response
                self.status = response.status_code
                self.connected.set()
                if response.status_code != 200:
                    self.lines.put(response.json())
                    return
                for line in response.iter_lines():
                    if self._stop.is_set():
                        return
                    if line:
                        self.lines.put(orjson.loads(line))
                    else:
                        self.keepalives += 1
        except (requests.RequestException, AttributeError, OSError):
            pass  # closed from another thread by close()
        finally:
            self.connected.set()
            self.ended.set()

    def take(self, count: int, timeout: float = 15) -> list[dict[str, Any]]:
        """The next `count` lines (fails if they do not come within `timeout` seconds)."""
        return [self.lines.get(timeout=timeout) for _ in range(count)]

    def drain(self) -> Iterator[dict[str, Any]]:
        while True:
            try:
                yield self.lines.get_nowait()
            except queue.Empty:
                return

    def close(self) -> None:
        self._stop.set()
        if self._response is not None:
            # Shut the socket down first: that wakes the reader thread blocked in recv (closing
            # the response alone waits for the read to time out).
            connection = getattr(self._response.raw, "connection", None)
            sock = getattr(connection, "sock", None)
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self._response.close()
        self._thread.join(10)
