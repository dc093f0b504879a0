"""`/usage-log/v1/…`: the caller's own usage log, in the C2SP tlog-tiles layout.

    GET checkpoint                      the latest signed checkpoint (text/plain)
    GET tile/<L>/<N>[.p/<W>]            a hash tile
    GET tile/entries/<N>[.p/<W>]        an entry bundle (the leaves)
    GET receipt/<request id>            a tlog-proof of that request's leaf
    GET consistency?old=N&new=M         the consistency proof, one base64 hash a line

The organisation is the one of the bearer key (a licensee key, as for `/2/`): there is no
organisation in the path, so no request can name another's log. Reads are not metered.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from hashlib import sha256
from typing import TypeVar

import anyio.to_thread
from fastapi import APIRouter
from sqlalchemy.engine import Connection
from starlette.requests import Request
from starlette.responses import Response

from tollhouse.access.keys import TOKEN_LENGTH
from tollhouse.api import problems
from tollhouse.api.edge import EdgeMiddleware, bearer_token, directory_for
from tollhouse.api.state import app_state
from tollhouse.errors import TollhouseError
from tollhouse.receipts import serving
from tollhouse.receipts.signing import LogSigner
from tollhouse_verify.errors import FormatError
from tollhouse_verify.tiles import parse_path

router = APIRouter(prefix="/usage-log/v1", tags=["usage log"])
T = TypeVar("T")
TEXT = "text/plain; charset=utf-8"


async def _caller_org(request: Request) -> int:
    token = bearer_token(request.scope)
    if token is None or len(token) != TOKEN_LENGTH:
        raise problems.unauthorized()
    directory = directory_for(request.app)
    digest = sha256(token.encode()).digest()
    entry = directory.verified(digest)
    if entry is None:
        entry = await EdgeMiddleware._verify(directory, token, digest)
    if entry is None or (entry.not_after is not None and time.time() >= entry.not_after):
        raise problems.unauthorized()
    # A suspended or terminated organisation may still check what it was billed.
    return entry.context.org_id


async def _read(request: Request, work: Callable[[Connection, LogSigner, int], T]) -> T:
    org_id = await _caller_org(request)
    state = app_state(request)
    signer = LogSigner.from_settings(state.settings)

    def run() -> T:
        with state.usage_engine.connect() as conn:
            return work(conn, signer, org_id)

    try:
        return await anyio.to_thread.run_sync(run)
    except TollhouseError as exc:  # NotCheckpointed → 404, BadProofRequest → 400
        raise problems.problem_for(exc) from None


@router.get("/checkpoint", summary="The latest signed checkpoint of your usage log")
async def checkpoint(request: Request) -> Response:
    head = await _read(request, serving.head)
    return Response(head.note, media_type=TEXT, headers={"cache-control": "no-cache"})


@router.get("/tile/{path:path}", summary="A hash tile or entry bundle of your usage log")
async def tile(request: Request, path: str) -> Response:
    try:
        ref = parse_path("tile/" + path)
    except FormatError as exc:
        raise problems.invalid_request(str(exc), {"path": [path]}) from None
    data = await _read(request, lambda conn, signer, org: serving.tile(conn, signer, org, ref))
    return Response(data, media_type="application/octet-stream")


@router.get("/receipt/{request_id}", summary="A tlog-proof that a request is in your log")
async def receipt(request: Request, request_id: str) -> Response:
    text = await _read(
        request, lambda conn, signer, org: serving.receipt(conn, signer, org, request_id)
    )
    return Response(text, media_type=TEXT)


def _size(request: Request, name: str) -> int:
    raw = request.query_params.get(name)
    if raw is None or not raw.isdigit() or (len(raw) > 1 and raw[0] == "0") or len(raw) > 19:
        raise problems.invalid_request(
            f"The `{name}` query parameter is a tree size (a decimal number)", {name: [raw or ""]}
        )
    return int(raw)


@router.get("/consistency", summary="A consistency proof between two sizes of your log")
async def consistency(request: Request) -> Response:
    unknown = sorted(set(request.query_params) - {"old", "new"})
    if unknown:
        raise problems.invalid_request(
            f"The query parameter [{unknown[0]}] is not one of [new,old]"
        )
    old, new = _size(request, "old"), _size(request, "new")
    proof = await _read(
        request, lambda conn, signer, org: serving.consistency(conn, signer, org, old, new)
    )
    body = "".join(base64.b64encode(p).decode() + "\n" for p in proof)
    return Response(body, media_type=TEXT)
