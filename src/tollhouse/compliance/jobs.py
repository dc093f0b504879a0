"""Batch compliance jobs as X runs them: create, upload ids, process, download the result.

A job belongs to one app of one organisation; one job per type per app may be active (awaiting
its upload, or in progress). The upload and download URLs are served by Tollhouse and carry
their own secret token, because clients (twarc2) PUT and GET them with no Authorization header.
Statuses: created → in_progress → complete, or failed; `expired` once the upload window
(15 minutes) passes without an upload, or the download window (7 days) passes.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from tollhouse.compliance import job_results
from tollhouse.compliance.clock import Clock, utc_now
from tollhouse.compliance.errors import (
    ActiveJobExists,
    DownloadRefused,
    InvalidContentEvent,
    JobNotFound,
    UploadRefused,
    UploadTooLarge,
)
from tollhouse.compliance.models import compliance_jobs
from tollhouse.compliance.notices import record_notices
from tollhouse.compliance.timefmt import x_time
from tollhouse.corpus.ids import snowflake

UPLOAD_WINDOW = timedelta(minutes=15)
DOWNLOAD_WINDOW = timedelta(days=7)
MAX_UPLOAD_BYTES = 128 * 1024 * 1024
JOB_TYPES = ("tweets", "users")
STATUSES = ("created", "in_progress", "complete", "failed", "expired")
_MAX_ID = (1 << 63) - 1
# Invalid lines echoed back; past this many the rest are counted but not listed.
MAX_INVALID_LINES = 100_000


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class ComplianceJob:
    id: int
    org_id: int
    app_id: int
    type: str
    name: str | None
    resumable: bool
    status: str  # as of the moment it was read (expiry applied)
    created_at: datetime
    upload_token: str
    download_token: str
    uploaded_at: datetime | None
    completed_at: datetime | None
    error: str | None

    @property
    def upload_expires_at(self) -> datetime:
        return self.created_at + UPLOAD_WINDOW

    @property
    def download_expires_at(self) -> datetime:
        return self.created_at + DOWNLOAD_WINDOW

    @property
    def active(self) -> bool:
        return self.status in ("created", "in_progress")

    def wire(self, base_url: str) -> dict[str, Any]:
        """The job object exactly as X's API returns it."""
        out: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "status": self.status,
            "resumable": self.resumable,
            "created_at": x_time(self.created_at),
            "upload_url": f"{base_url}/compliance/upload/{self.upload_token}",
            "upload_expires_at": x_time(self.upload_expires_at),
            "download_url": f"{base_url}/compliance/download/{self.download_token}",
            "download_expires_at": x_time(self.download_expires_at),
        }
        if self.name is not None:
            out["name"] = self.name
        if self.uploaded_at is not None:
            out["estimated_completion"] = x_time(self.completed_at or self.uploaded_at)
        if self.status == "failed" and self.error:
            out["error"] = self.error
        return out


def _job(row: Any, now: datetime) -> ComplianceJob:
    created = _utc(row.created_at)
    status = row.status
    upload_over = status == "created" and now >= created + UPLOAD_WINDOW
    if upload_over or (status == "complete" and now >= created + DOWNLOAD_WINDOW):
        status = "expired"
    return ComplianceJob(
        id=row.id,
        org_id=row.org_id,
        app_id=row.app_id,
        type=row.type,
        name=row.name,
        resumable=bool(row.resumable),
        status=status,
        created_at=created,
        upload_token=row.upload_token,
        download_token=row.download_token,
        uploaded_at=_utc(row.uploaded_at) if row.uploaded_at is not None else None,
        completed_at=_utc(row.completed_at) if row.completed_at is not None else None,
        error=row.error,
    )


_COLUMNS = [c for c in compliance_jobs.c if c.name not in ("uploaded_ids", "result", "notices")]


class JobService:
    """Jobs on one database, with an injectable clock."""

    def __init__(self, engine: Engine, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.clock = clock

    def create(
        self, org_id: int, app_id: int, job_type: str, name: str | None, resumable: bool
    ) -> ComplianceJob:
        if job_type not in JOB_TYPES:
            raise InvalidContentEvent("`type` must be tweets or users")
        now = self.clock()
        t = compliance_jobs.c
        job_id = snowflake(now, worker=app_id % 1024, sequence=secrets.randbelow(4096))
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    compliance_jobs.update()
                    .where(t.app_id == app_id, t.type == job_type, t.status == "created")
                    .where(t.created_at <= now - UPLOAD_WINDOW)
                    .values(status="expired")
                )
                conn.execute(
                    compliance_jobs.insert().values(
                        id=job_id,
                        org_id=org_id,
                        app_id=app_id,
                        type=job_type,
                        name=name,
                        resumable=resumable,
                        status="created",
                        created_at=now,
                        upload_token=secrets.token_urlsafe(32),
                        download_token=secrets.token_urlsafe(32),
                    )
                )
                row = conn.execute(sa.select(*_COLUMNS).where(t.id == job_id)).one()
        except IntegrityError:
            raise ActiveJobExists(
                f"A {job_type} compliance job is already active for this app."
            ) from None
        return _job(row, now)

    def _jobs(
        self, conn: Connection, app_id: int, job_type: str, now: datetime
    ) -> list[ComplianceJob]:
        t = compliance_jobs.c
        stmt = (
            sa.select(*_COLUMNS)
            .where(t.app_id == app_id, t.type == job_type)
            .order_by(t.created_at.desc())
        )
        return [_job(r, now) for r in conn.execute(stmt)]

    def list(self, app_id: int, job_type: str, status: str | None = None) -> list[ComplianceJob]:
        now = self.clock()
        with self.engine.connect() as conn:
            jobs = self._jobs(conn, app_id, job_type, now)
        return [j for j in jobs if status is None or j.status == status]

    def get(self, app_id: int, job_id: int) -> ComplianceJob:
        t = compliance_jobs.c
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(*_COLUMNS).where(t.id == job_id, t.app_id == app_id)
            ).first()
        if row is None:
            raise JobNotFound(f"Could not find compliance job with id: [{job_id}].")
        return _job(row, self.clock())

    def _by_token(self, column: str, token: str) -> ComplianceJob:
        t = compliance_jobs.c
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(*_COLUMNS).where(t[column] == token)).first()
        if row is None:
            raise JobNotFound("No compliance job has this URL.")
        return _job(row, self.clock())

    def check_upload(self, token: str) -> ComplianceJob:
        """The job whose upload URL carries `token`, if it still takes its upload."""
        job = self._by_token("upload_token", token)
        if job.status == "expired":
            raise UploadRefused("The upload URL has expired; create a new job.")
        if job.status != "created":
            raise UploadRefused(f"The job is {job.status}; it takes one upload.")
        return job

    def upload(self, token: str, chunks: Iterable[bytes] | IdUpload) -> ComplianceJob:
        """Take the ids (one per line) of the job whose upload URL carries `token`, then process
        them. Refused once the URL expired or the job already has its upload."""
        job = self.check_upload(token)
        if isinstance(chunks, IdUpload):
            upload = chunks
        else:
            upload = IdUpload()
            for chunk in chunks:
                upload.feed(chunk)
        id_array = upload.finish()
        ids, invalid = id_array.tolist(), upload.invalid
        t = compliance_jobs.c
        now = self.clock()
        with self.engine.begin() as conn:
            claimed = conn.execute(
                compliance_jobs.update()
                .where(t.id == job.id, t.status == "created")
                .values(status="in_progress", uploaded_at=now)
            ).rowcount
        if not claimed:
            raise UploadRefused("The job already has its upload.")
        try:
            with self.engine.begin() as conn:
                lines = job_results.evaluate(conn, job.type, ids, now)  # type: ignore[arg-type]
            result = job_results.encode(lines, invalid)
            with self.engine.begin() as conn:
                conn.execute(
                    compliance_jobs.update()
                    .where(t.id == job.id)
                    .values(
                        status="complete",
                        completed_at=self.clock(),
                        uploaded_ids=id_array.tobytes(),
                        result=result,
                        notices=orjson.dumps([k for line in lines for k in line.notice_keys]),
                    )
                )
        except Exception as exc:
            with self.engine.begin() as conn:
                conn.execute(
                    compliance_jobs.update()
                    .where(t.id == job.id)
                    .values(status="failed", completed_at=self.clock(), error=type(exc).__name__)
                )
            raise
        return self._by_token("upload_token", token)

    def download(self, token: str) -> tuple[ComplianceJob, bytes]:
        """The JSONL result of the job whose download URL carries `token`; records that its
        organisation was told of every event the result lists."""
        job = self._by_token("download_token", token)
        if job.status == "expired":
            raise DownloadRefused("The download URL has expired.")
        if job.status != "complete":
            raise DownloadRefused(f"The job is {job.status}; its result is not ready.")
        t = compliance_jobs.c
        with self.engine.connect() as conn:
            result, notices = conn.execute(
                sa.select(t.result, t.notices).where(t.id == job.id)
            ).one()
        keys = orjson.loads(notices) if notices else []
        if keys:
            record_notices(self.engine, job.org_id, keys, "job", self.clock(), str(job.id))
        return job, bytes(result or b"")


class IdUpload:
    """An upload read as it arrives: valid ids gathered as 64-bit integers (8 bytes each, not
    Python ints), invalid lines kept. CRLF, blank lines and repeats are tolerated; more than
    MAX_UPLOAD_BYTES is refused as soon as it is seen."""

    def __init__(self) -> None:
        self.size = 0
        self.invalid: list[str] = []
        self._parts: list[np.ndarray[Any, np.dtype[np.int64]]] = []
        self._rest = b""

    def feed(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > MAX_UPLOAD_BYTES:
            raise UploadTooLarge("An upload may hold at most 128 MB of ids.")
        data = self._rest + chunk
        cut = data.rfind(b"\n") + 1
        self._rest = data[cut:]
        self._take(data[:cut])

    def _take(self, data: bytes) -> None:
        if not data.strip():
            return
        if b" " not in data and b"\t" not in data:
            tokens = data.split()  # lines, without CR and blank lines
            try:
                values = np.array(tokens, dtype=np.bytes_).astype(np.uint64)
                lengths = np.char.str_len(np.array(tokens, dtype=np.bytes_))
                if (lengths <= 19).all() and (values > 0).all() and (values <= _MAX_ID).all():
                    self._parts.append(values.astype(np.int64))
                    return
            except (ValueError, OverflowError):
                pass
        ids: list[int] = []
        for raw in data.split(b"\n"):
            text = raw.strip()
            if not text:
                continue
            if text.isdigit() and len(text) <= 19 and 0 < int(text) <= _MAX_ID:
                ids.append(int(text))
            elif len(self.invalid) < MAX_INVALID_LINES:
                self.invalid.append(text.decode("utf-8", "replace")[:64])
        if ids:
            self._parts.append(np.array(ids, dtype=np.int64))

    def finish(self) -> np.ndarray[Any, np.dtype[np.int64]]:
        """The distinct valid ids, sorted."""
        if self._rest:
            self._take(self._rest + b"\n")
            self._rest = b""
        if not self._parts:
            return np.zeros(0, dtype=np.int64)
        return np.unique(np.concatenate(self._parts))


def parse_ids(chunks: Iterable[bytes]) -> tuple[list[int], list[str]]:
    """Distinct valid ids (sorted) and the invalid lines of an upload."""
    upload = IdUpload()
    for chunk in chunks:
        upload.feed(chunk)
    return upload.finish().tolist(), upload.invalid
