"""The recording hook with real clients (requests and httpx) against a real local server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import requests

from tollhouse_verify.hook import OwnRecords, delivered_post_ids


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps(
            {"data": [{"id": "11"}, {"id": "12"}], "includes": {"tweets": [{"id": "13"}]}}
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("x-request-id", "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_requests_and_httpx_record_responses_and_failed_connections(
    server: str, tmp_path: Path
) -> None:
    own = OwnRecords(tmp_path / "own.jsonl")
    session = own.install(requests.Session())
    session.get(server + "/2/tweets?ids=11,12")
    with own.install(httpx.Client()) as client:
        client.get(server + "/2/tweets/11")
        with pytest.raises(httpx.TransportError):
            client.get("http://127.0.0.1:1/2/tweets/5")
    with pytest.raises(requests.ConnectionError):
        session.get("http://127.0.0.1:1/2/tweets/6")
    lines = _lines(own.path)
    assert [(r["status"], r["route"], r["post_ids"]) for r in lines[:2]] == [
        (200, "GET /2/tweets", [11, 12, 13]),
        (200, "GET /2/tweets/11", [11, 12, 13]),
    ]
    assert [(r["request_id"], r["route"]) for r in lines[2:]] == [
        (None, "GET /2/tweets/5"),
        (None, "GET /2/tweets/6"),
    ]
    assert all(r["sent_ms"] <= r["failed_ms"] for r in lines[2:])  # type: ignore[operator]


def test_delivered_ids_of_every_body_shape() -> None:
    assert delivered_post_ids({"data": {"id": "5"}}) == [5]
    assert delivered_post_ids({"errors": [{"value": "5"}]}) == []
    assert delivered_post_ids(None) == []
    assert delivered_post_ids({"data": [{"id": "x"}, {"id": "7"}]}) == [7]
