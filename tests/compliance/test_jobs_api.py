"""Batch compliance jobs over the app (in process), with an injected clock: the wire shapes,
one active job per type, the upload rules, the results (one event per id), expiry."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from tests.api.conftest import Api, running_api
from tollhouse.compliance import content_events
from tollhouse.compliance.content_events import ContentEvent
from tollhouse.db import create_engine

X_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def jobs_api(database_url: str) -> Iterator[tuple[Api, Clock]]:
    with running_api(database_url) as api:
        clock = Clock()
        api.client.app.app.state.compliance_clock = clock  # type: ignore[attr-defined]
        yield api, clock


def _record(api: Api, *events: ContentEvent) -> None:
    engine = create_engine(api.database_url)
    try:
        content_events.record(engine, list(events))
    finally:
        engine.dispose()


def _visible(api: Api, n: int) -> list[int]:
    return api.corpus.visible_ids()[:n]


def test_job_shape_and_listing(jobs_api: tuple[Api, Clock]) -> None:
    api, _ = jobs_api
    empty = api.client.get("/2/compliance/jobs", params={"type": "tweets"})
    assert empty.status_code == 200 and empty.json() == {"data": []}
    created = api.client.post("/2/compliance/jobs", json={"type": "tweets", "name": "n1"})
    assert created.status_code == 200, created.text
    job = created.json()["data"]
    assert set(job) == {
        "id", "type", "status", "resumable", "created_at", "upload_url", "upload_expires_at",
        "download_url", "download_expires_at", "name",
    }  # fmt: skip
    assert job["status"] == "created" and job["resumable"] is False and job["name"] == "n1"
    for key in ("created_at", "upload_expires_at", "download_expires_at"):
        assert X_TIME.match(job[key]), job[key]
    created_at = datetime.strptime(job["created_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
    upload_exp = datetime.strptime(job["upload_expires_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
    download_exp = datetime.strptime(job["download_expires_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert upload_exp - created_at == timedelta(minutes=15)
    assert download_exp - created_at == timedelta(days=7)
    assert job["upload_url"].startswith("http") and "/compliance/upload/" in job["upload_url"]
    # A second tweets job while this one is active: 409; a users job is accepted.
    second = api.client.post("/2/compliance/jobs", json={"type": "tweets"})
    assert second.status_code == 409, second.text
    users_job = api.client.post("/2/compliance/jobs", json={"type": "users", "resumable": False})
    assert users_job.status_code == 200
    assert "name" not in users_job.json()["data"]
    listed = api.client.get("/2/compliance/jobs", params={"type": "tweets"}).json()["data"]
    assert [j["id"] for j in listed] == [job["id"]]
    assert api.client.get(f"/2/compliance/jobs/{job['id']}").json()["data"] == job
    assert api.client.get("/2/compliance/jobs/123").status_code == 404
    assert api.client.get("/2/compliance/jobs", params={"type": "posts"}).status_code == 400
    assert api.client.post("/2/compliance/jobs", json={"type": "posts"}).status_code == 400
    filtered = api.client.get("/2/compliance/jobs", params={"type": "tweets", "status": "complete"})
    assert filtered.json() == {"data": []}


def test_results_one_event_per_id(jobs_api: tuple[Api, Clock]) -> None:
    api, clock = jobs_api
    deleted, edited, scrubbed, layered, clean = _visible(api, 5)
    at = clock.now - timedelta(hours=1)
    _record(
        api,
        ContentEvent("post", deleted, "delete", at),
        ContentEvent("post", edited, "tweet_edit", at, {"edit_tweet_ids": [str(edited)]}),
        ContentEvent("post", scrubbed, "scrub_geo", at),
        ContentEvent("post", layered, "tweet_edit", at),
        ContentEvent("post", layered, "scrub_geo", at + timedelta(minutes=1)),
        ContentEvent("post", layered, "delete", at + timedelta(minutes=2)),
    )
    # Removed content is hidden by the data API at once.
    assert api.client.get(f"/2/tweets/{deleted}").json().get("data") is None
    job = api.client.post("/2/compliance/jobs", json={"type": "tweets"}).json()["data"]
    never = 1_234_567_890_123
    body = f"{deleted}\r\n{edited}\r\n\r\n{scrubbed}\n{layered}\n{clean}\n{never}\nabc\n{deleted}\n"
    # No Authorization: the token in the URL is the credential.
    put = api.client.put(
        job["upload_url"],
        content=body.encode(),
        headers={"Content-Type": "text/plain", "Authorization": ""},
    )
    assert put.status_code == 200, put.text
    done = api.client.get(f"/2/compliance/jobs/{job['id']}").json()["data"]
    assert done["status"] == "complete" and X_TIME.match(done["estimated_completion"])
    got = api.client.get(done["download_url"], headers={"Authorization": ""})
    assert got.status_code == 200
    lines = [orjson.loads(line) for line in got.content.splitlines()]
    by_id = {line["id"]: line for line in lines}
    assert len(lines) == len(by_id) == 5
    assert by_id[str(deleted)]["action"] == "delete" and by_id[str(deleted)]["reason"] == "deleted"
    assert (by_id[str(edited)]["action"], by_id[str(edited)]["reason"]) == (
        "rehydrate",
        "tweet_edited",
    )
    assert (by_id[str(scrubbed)]["action"], by_id[str(scrubbed)]["reason"]) == (
        "scrub_geo",
        "geo_scrubbed",
    )
    assert by_id[str(layered)]["action"] == "delete"
    assert by_id["abc"] == {"id": "abc", "error": "invalid_id"}
    assert str(clean) not in by_id and str(never) not in by_id
    for line in lines:
        if "action" in line:
            assert X_TIME.match(line["created_at"]) and X_TIME.match(line["redacted_at"])
    # A job takes one upload.
    again = api.client.put(job["upload_url"], content=b"1\n")
    assert again.status_code == 403
    # The job is no longer active: another tweets job may start.
    assert api.client.post("/2/compliance/jobs", json={"type": "tweets"}).status_code == 200
    # Seven days on, the download URL is refused and the job is expired.
    clock.now += timedelta(days=7, seconds=1)
    assert api.client.get(done["download_url"]).status_code == 403
    assert api.client.get(f"/2/compliance/jobs/{job['id']}").json()["data"]["status"] == "expired"


def test_upload_after_fifteen_minutes_expires(jobs_api: tuple[Api, Clock]) -> None:
    api, clock = jobs_api
    job = api.client.post("/2/compliance/jobs", json={"type": "users"}).json()["data"]
    clock.now += timedelta(minutes=15)
    assert api.client.put(job["upload_url"], content=b"1\n").status_code == 403
    assert api.client.get(f"/2/compliance/jobs/{job['id']}").json()["data"]["status"] == "expired"
    # An expired job is not active.
    assert api.client.post("/2/compliance/jobs", json={"type": "users"}).status_code == 200


def test_upload_over_128_mb_is_refused(jobs_api: tuple[Api, Clock]) -> None:
    api, _ = jobs_api
    job = api.client.post("/2/compliance/jobs", json={"type": "tweets"}).json()["data"]
    line = b"1234567890123456789\n"
    chunk = line * (1 << 16)  # 1.25 MiB

    def body() -> Iterator[bytes]:
        for _ in range(103):  # just over 128 MiB
            yield chunk

    put = api.client.put(job["upload_url"], content=body())
    assert put.status_code == 413


def test_user_jobs_report_the_state_at_processing_time(jobs_api: tuple[Api, Clock]) -> None:
    api, clock = jobs_api
    visible_users = [u for u in sorted(api.corpus.users) if u not in api.corpus.hidden_users]
    toggled, gone, back = visible_users[:3]
    t0 = clock.now - timedelta(days=1)
    _record(
        api,
        ContentEvent("user", toggled, "user_protect", t0),
        ContentEvent("user", toggled, "user_unprotect", t0 + timedelta(hours=1)),
        ContentEvent("user", toggled, "user_suspend", t0 + timedelta(hours=2)),
        ContentEvent("user", gone, "user_delete", t0),
        ContentEvent("user", back, "user_delete", t0),
        ContentEvent("user", back, "user_undelete", t0 + timedelta(hours=3)),
    )
    job = api.client.post("/2/compliance/jobs", json={"type": "users"}).json()["data"]
    api.client.put(job["upload_url"], content=f"{toggled}\n{gone}\n{back}\n".encode())
    lines = [orjson.loads(x) for x in api.client.get(job["download_url"]).content.splitlines()]
    by_id = {line["id"]: line for line in lines}
    assert by_id[str(toggled)]["reason"] == "suspended"
    assert by_id[str(gone)]["reason"] == "deactivated"
    assert str(back) not in by_id
