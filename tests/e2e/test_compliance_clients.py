"""Batch compliance jobs against a live server with the real clients: twarc2's command line
(`compliance-job create|list|download`, run as a subprocess) and tweepy's compliance methods,
unchanged but for where they connect."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
import tweepy
from sqlalchemy.engine import Engine

from tests.api.sample_corpus import SampleCorpus
from tests.e2e.conftest import Served, point_at, serving
from tollhouse.compliance import content_events
from tollhouse.compliance.content_events import ContentEvent

ROOT = Path(__file__).resolve().parents[2]


class Marked:
    deleted: int
    edited: int
    scrubbed: int
    layered: int
    clean: int


MARKED = Marked()


def _events(engine: Engine, corpus: SampleCorpus) -> None:
    ids = corpus.visible_ids()
    MARKED.deleted, MARKED.edited, MARKED.scrubbed, MARKED.layered, MARKED.clean = ids[:5]
    at = datetime.now(UTC) - timedelta(hours=2)
    content_events.record(
        engine,
        [
            ContentEvent("post", MARKED.deleted, "delete", at),
            ContentEvent("post", MARKED.edited, "tweet_edit", at),
            ContentEvent("post", MARKED.scrubbed, "scrub_geo", at),
            ContentEvent("post", MARKED.layered, "tweet_edit", at),
            ContentEvent("post", MARKED.layered, "scrub_geo", at + timedelta(minutes=1)),
            ContentEvent("post", MARKED.layered, "delete", at + timedelta(minutes=2)),
        ],
    )


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    with serving(request.param, tmp_path_factory, extend=_events) as running:
        yield running


def _twarc2(served: Served, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(cwd)}
    env.pop("BEARER_TOKEN", None)
    command = [
        sys.executable, "-m", "tests.e2e.twarc2_local", served.base_url,
        "--bearer-token", served.token, "--log", str(cwd / "twarc.log"), *args,
    ]  # fmt: skip
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _ids_file(path: Path) -> Path:
    never = 1_234_567_890_123
    lines = [
        MARKED.deleted, MARKED.edited, "", MARKED.scrubbed, MARKED.layered, MARKED.clean,
        never, "abc", MARKED.deleted,
    ]  # fmt: skip
    path.write_bytes("\r\n".join(str(x) for x in lines).encode() + b"\r\n\r\n")
    return path


def test_twarc2_compliance_job_create_list_download(served: Served, tmp_path: Path) -> None:
    listed = _twarc2(served, "compliance-job", "list", "users", "--json-output", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert orjson.loads(listed.stdout) == []
    ids = _ids_file(tmp_path / "ids.txt")
    created = _twarc2(
        served, "compliance-job", "create", "tweets", str(ids), "--job-name", "e2e",
        "--no-wait", cwd=tmp_path,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert "Created a new tweets job" in created.stderr
    listed = _twarc2(served, "compliance-job", "list", "tweets", "--json-output", cwd=tmp_path)
    jobs = orjson.loads(listed.stdout)
    assert len(jobs) == 1 and jobs[0]["name"] == "e2e" and jobs[0]["status"] == "complete"
    verbose = _twarc2(served, "compliance-job", "list", "--verbose", cwd=tmp_path)
    assert verbose.returncode == 0 and "Resumable: False" in verbose.stderr
    out = tmp_path / "result.jsonl"
    downloaded = _twarc2(
        served, "compliance-job", "download", jobs[0]["id"], str(out), cwd=tmp_path
    )
    assert downloaded.returncode == 0, downloaded.stderr
    lines = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    by_id = {line["id"]: line for line in lines}
    assert len(by_id) == len(lines) == 5
    assert by_id[str(MARKED.deleted)]["action"] == "delete"
    assert by_id[str(MARKED.edited)]["action"] == "rehydrate"
    assert by_id[str(MARKED.scrubbed)]["action"] == "scrub_geo"
    assert (by_id[str(MARKED.layered)]["action"], by_id[str(MARKED.layered)]["reason"]) == (
        "delete",
        "deleted",
    )
    assert by_id["abc"] == {"id": "abc", "error": "invalid_id"}
    assert str(MARKED.clean) not in by_id


def test_tweepy_compliance_methods(served: Served) -> None:
    client = tweepy.Client(bearer_token=served.token)
    point_at(client.session, served.base_url)
    created = client.create_compliance_job("users", name="from-tweepy", resumable=False)
    job = created.data
    assert job["type"] == "users" and job["status"] == "created" and job["name"] == "from-tweepy"
    with pytest.raises(tweepy.HTTPException) as refused:
        client.create_compliance_job("users")
    assert refused.value.response.status_code == 409
    got = client.get_compliance_job(int(job["id"]))
    assert got.data["id"] == job["id"]
    jobs = client.get_compliance_jobs("users", status="created")
    assert [j["id"] for j in jobs.data] == [job["id"]]
    # tweepy does not upload; its users do it with requests, as X documents.
    import requests

    hidden_user = next(u for u, s in served.corpus.hidden_users.items() if s == "deleted")
    put = requests.put(
        job["upload_url"], data=f"{hidden_user}\n".encode(), headers={"Content-Type": "text/plain"}
    )
    assert put.status_code == 200
    result = requests.get(client.get_compliance_job(int(job["id"])).data["download_url"])
    assert [orjson.loads(x)["id"] for x in result.content.splitlines()] == [str(hidden_user)]
