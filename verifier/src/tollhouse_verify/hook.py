"""Record your own responses: a hook for requests and httpx (tweepy and twarc use requests).

Each response carrying an `x-request-id` becomes one JSON line in a local file:

    {"request_id": "…", "status": 200, "route": "GET /2/tweets/123", "post_ids": [1, 2]}

`post_ids` are the posts the response delivered: `data[].id` (or `data.id`) and
`includes.tweets[].id`. Stream responses are recorded without reading their body.

A request that got no response at all (the connection failed) is recorded too, without a
request id, with when it was sent:

    {"request_id": null, "status": null, "route": "GET /2/tweets/123", "post_ids": [],
     "error": "ConnectError", "sent_ms": …, "failed_ms": …}

The platform may have logged such a request (a server killed after recording it, before
answering): the check reports a log entry matching one of these as unanswered, not unknown.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


def delivered_post_ids(body: Any) -> list[int]:
    """The ids of the posts in an X API v2 response body."""
    ids: list[int] = []
    if not isinstance(body, dict):
        return ids
    data = body.get("data")
    items = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
    includes = body.get("includes")
    if isinstance(includes, dict) and isinstance(includes.get("tweets"), list):
        items = [*items, *includes["tweets"]]
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"].isdigit():
            ids.append(int(item["id"]))
    return ids


class OwnRecords:
    """An append-only JSONL file of the responses you received."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def record(self, request_id: str, status: int, route: str, post_ids: list[int]) -> None:
        line = json.dumps(
            {"request_id": request_id, "status": status, "route": route, "post_ids": post_ids},
            separators=(",", ":"),
        )
        with self._lock, self.path.open("a", encoding="utf-8") as f:
            f.write(line + "\n")

    def record_failure(self, method: str, url: str, error: str, sent_ms: int) -> None:
        line = json.dumps(
            {"request_id": None, "status": None, "route": f"{method} {urlsplit(url).path}",
             "post_ids": [], "error": error, "sent_ms": sent_ms,
             "failed_ms": time.time_ns() // 1_000_000},
            separators=(",", ":"),
        )  # fmt: skip
        with self._lock, self.path.open("a", encoding="utf-8") as f:
            f.write(line + "\n")

    def _wrap_send(self, client: Any, errors: tuple[type[BaseException], ...]) -> None:
        send = client.send

        def recording_send(request: Any, *args: Any, **kwargs: Any) -> Any:
            sent_ms = time.time_ns() // 1_000_000
            try:
                return send(request, *args, **kwargs)
            except errors as exc:
                self.record_failure(str(request.method), str(request.url),
                                    type(exc).__name__, sent_ms)  # fmt: skip
                raise

        client.send = recording_send

    def _record(self, headers: Any, status: int, method: str, url: str, body: Any) -> None:
        request_id = headers.get("x-request-id")
        if not request_id:
            return
        path = urlsplit(url).path
        ids = [] if path.endswith("/stream") else delivered_post_ids(body())
        self.record(request_id, status, f"{method} {path}", ids)

    # requests: session.hooks["response"].append(records.requests_hook)
    def requests_hook(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        def body() -> Any:
            try:
                return response.json()
            except ValueError:
                return None

        self._record(
            response.headers, response.status_code, response.request.method, response.url, body
        )
        return response

    # httpx: httpx.Client(event_hooks={"response": [records.httpx_hook]})
    def httpx_hook(self, response: Any) -> None:
        def body() -> Any:
            response.read()
            try:
                return response.json()
            except ValueError:
                return None

        self._record(
            response.headers,
            response.status_code,
            response.request.method,
            str(response.request.url),
            body,
        )

    def install(self, client: Any) -> Any:
        """Add the hook to a requests.Session (e.g. `tweepy.Client(...).session`) or an
        httpx.Client; returns the client."""
        hooks = getattr(client, "hooks", None)
        if isinstance(hooks, dict) and "response" in hooks:
            import requests

            hooks["response"].append(self.requests_hook)
            self._wrap_send(client, (requests.ConnectionError, requests.Timeout))
        else:
            import httpx

            client.event_hooks["response"].append(self.httpx_hook)
            self._wrap_send(client, (httpx.TransportError,))
        return client


def read_own(path: str | Path) -> Iterator[dict[str, Any]]:
    """The records of a JSONL file, one dict per non-empty line."""
    with Path(path).open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{n}: not JSON") from exc
