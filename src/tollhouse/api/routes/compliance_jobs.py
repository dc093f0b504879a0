"""X's batch compliance jobs: `POST /2/compliance/jobs`, `GET /2/compliance/jobs`,
`GET /2/compliance/jobs/:id` (app-only bearer, through the edge), and the job's own upload and
download URLs (`/compliance/upload/…`, `/compliance/download/…`), which authenticate by the
token in the URL alone, as X's signed storage URLs do."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tollhouse.api import openapi as doc
from tollhouse.api import params, problems
from tollhouse.api.responses import JSONResponse
from tollhouse.api.scope import CONTEXT_KEY
from tollhouse.api.state import app_state
from tollhouse.compliance.clock import clock_of
from tollhouse.compliance.errors import (
    DownloadRefused,
    JobNotFound,
    UploadRefused,
    UploadTooLarge,
)
from tollhouse.compliance.jobs import JOB_TYPES, MAX_UPLOAD_BYTES, STATUSES, IdUpload, JobService
from tollhouse.endpoints import endpoint
from tollhouse.errors import TollhouseError

router = APIRouter(tags=["compliance"])
files = APIRouter(tags=["compliance"], include_in_schema=False)


def _service(request: Request) -> JobService:
    return JobService(app_state(request).engine, clock_of(request.app))


def _base_url(request: Request) -> str:
    configured = app_state(request).settings.public_base_url
    return (configured or str(request.base_url)).rstrip("/")


def _caller(request: Request) -> tuple[int, int]:
    context = request.scope.get(CONTEXT_KEY)
    if context is None:
        raise problems.unauthorized()
    return int(context.org_id), int(context.app_id)


_JOB_TYPE = {"type": "string", "enum": list(JOB_TYPES)}
_JOB_STATUS = {
    "type": "string",
    "enum": list(STATUSES),
}
_NEW_JOB = {
    "type": "object",
    "properties": {
        "type": _JOB_TYPE,
        "name": {"type": "string"},
        "resumable": {"type": "boolean"},
    },
    "required": ["type"],
}


@router.post(
    "/2/compliance/jobs",
    summary="Create a batch compliance job",
    openapi_extra=doc.with_conflict(
        doc.operation(endpoint("POST", "/2/compliance/jobs"), doc.JOB, body=_NEW_JOB),
        "The app already has an active job of this type.",
    ),
)
async def create_job(request: Request) -> Response:
    org_id, app_id = _caller(request)
    params.check_known(request.query_params, endpoint("POST", "/2/compliance/jobs").params)
    try:
        body = orjson.loads(await request.body() or b"{}")
    except orjson.JSONDecodeError as exc:
        raise problems.invalid_request(f"The body is not JSON: {exc}") from exc
    if not isinstance(body, dict) or body.get("type") not in JOB_TYPES:
        raise problems.invalid_request(
            "`type` must be one of tweets, users.", {"type": [str(_get(body, "type"))]}
        )
    name = body.get("name")
    if name is not None and (not isinstance(name, str) or len(name) > 64):
        raise problems.invalid_request("`name` must be a string of at most 64 characters.")
    resumable = body.get("resumable", False)
    if not isinstance(resumable, bool):
        raise problems.invalid_request("`resumable` must be true or false.")
    unknown = set(body) - {"type", "name", "resumable"}
    if unknown:
        raise problems.invalid_request(f"Unknown fields: {', '.join(sorted(unknown))}.")
    service = _service(request)
    try:
        job = await asyncio.to_thread(service.create, org_id, app_id, body["type"], name, resumable)
    except TollhouseError as exc:
        raise problems.problem_for(exc) from None
    return JSONResponse({"data": job.wire(_base_url(request))})


def _get(body: Any, key: str) -> Any:
    return body.get(key) if isinstance(body, dict) else None


@router.get(
    "/2/compliance/jobs",
    summary="List batch compliance jobs of a type",
    openapi_extra=doc.operation(
        endpoint("GET", "/2/compliance/jobs"),
        doc.JOBS,
        overrides={"type": _JOB_TYPE, "status": _JOB_STATUS},
    ),
)
async def list_jobs(request: Request) -> Response:
    _, app_id = _caller(request)
    params.check_known(request.query_params, endpoint("GET", "/2/compliance/jobs").params)
    args = request.query_params
    job_type = args.get("type")
    status = args.get("status")
    if job_type not in JOB_TYPES:
        raise problems.invalid_request(
            "The `type` query parameter must be one of tweets, users.", {"type": [str(job_type)]}
        )
    if status is not None and status not in STATUSES:
        raise problems.invalid_request(
            f"The `status` query parameter must be one of {', '.join(STATUSES)}.",
            {"status": [status]},
        )
    jobs = await asyncio.to_thread(_service(request).list, app_id, job_type, status)
    base = _base_url(request)
    return JSONResponse({"data": [j.wire(base) for j in jobs]})


@router.get(
    "/2/compliance/jobs/{id}",
    summary="Get one batch compliance job",
    openapi_extra=doc.operation(endpoint("GET", "/2/compliance/jobs/:id"), doc.JOB),
)
async def get_job(request: Request) -> Response:
    _, app_id = _caller(request)
    params.check_known(request.query_params, endpoint("GET", "/2/compliance/jobs/:id").params, 1)
    raw = request.path_params["id"]
    if not raw.isdigit() or len(raw) > 19:
        raise problems.invalid_request(
            f"The `id` query parameter value [{raw}] is not valid", {"id": [raw]}
        )
    try:
        job = await asyncio.to_thread(_service(request).get, app_id, int(raw))
    except JobNotFound as exc:
        raise problems.problem_for(exc) from None
    return JSONResponse({"data": job.wire(_base_url(request))})


def _file_problem(status: int, detail: str) -> problems.ApiProblem:
    return problems.ApiProblem(
        status,
        {"title": "Compliance file", "type": "about:blank", "status": status, "detail": detail},
    )


@files.put("/compliance/upload/{token}", summary="Upload the ids of a compliance job")
async def upload(request: Request) -> Response:
    token = request.path_params["token"]
    service = _service(request)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES:
        raise _file_problem(413, "An upload may hold at most 128 MB of ids.")
    try:
        await asyncio.to_thread(service.check_upload, token)
        ids = IdUpload()
        async for chunk in request.stream():
            ids.feed(chunk)
        job = await asyncio.to_thread(service.upload, token, ids)
    except JobNotFound as exc:
        raise _file_problem(404, str(exc)) from None
    except UploadTooLarge as exc:
        raise _file_problem(413, str(exc)) from None
    except UploadRefused as exc:
        raise _file_problem(403, str(exc)) from None
    return JSONResponse({"data": {"id": str(job.id), "status": job.status}})


@files.get("/compliance/download/{token}", summary="Download a compliance job's result")
async def download(request: Request) -> Response:
    token = request.path_params["token"]
    try:
        _, body = await asyncio.to_thread(_service(request).download, token)
    except JobNotFound as exc:
        raise _file_problem(404, str(exc)) from None
    except DownloadRefused as exc:
        raise _file_problem(403, str(exc)) from None
    return Response(body, media_type="application/x-ndjson")
