"""Usage receipts end to end: tweepy with the recording hook against a real server, a thousand
requests, the server SIGKILLed midway and restarted; the licensee's `tollhouse-verify check`
passes. Then a leaf is changed in the database and the check names the failure."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
import tweepy

from tests.api.sample_corpus import build
from tests.conftest import LiveServer
from tests.e2e.conftest import point_at
from tests.metering.licensees import make_licensees
from tollhouse.db import create_engine, usage_database_url
from tollhouse.metering.models import usage_log
from tollhouse.receipts.service import run_round
from tollhouse.receipts.signing import LogSigner
from tollhouse.settings import load_settings
from tollhouse_verify.cli import main as verify
from tollhouse_verify.hook import OwnRecords


def _traffic(base_url: str, token: str, own: OwnRecords, ids: list[int], n: int) -> int:
    """`n` requests from 4 tweepy clients (stopping early if the server dies); answered."""
    answered = [0]
    lock = threading.Lock()

    def client(c: int) -> None:
        tw = tweepy.Client(bearer_token=token)
        point_at(tw.session, base_url)
        own.install(tw.session)
        for i in range(n // 4):
            try:
                if i % 3:
                    tw.get_tweet(ids[(c * 7 + i) % len(ids)])
                else:
                    tw.get_tweets([ids[(c + i + k) % len(ids)] for k in range(4)])
            except requests.ConnectionError:
                return
            except tweepy.TweepyException:
                pass  # refusals are recorded by the hook too
            with lock:
                answered[0] += 1

    threads = [threading.Thread(target=client, args=(c,)) for c in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answered[0]


@pytest.mark.slow
def test_tweepy_traffic_through_a_crash_verifies_and_a_changed_leaf_is_named(
    database_url: str,
    live_server: Callable[..., LiveServer],
    tmp_path: Path,
    redis_url: str,
    redis_prefix: str,
) -> None:
    engine = create_engine(database_url)
    usage = create_engine(usage_database_url(database_url))
    corpus = build(engine, n_posts=80, n_users=8)
    lic = make_licensees(engine, {"verifying-org": ["va"]})["verifying-org"]
    token = lic.tokens["va"]
    ids = sorted(corpus.posts)[:40]
    # Limits in Redis: the daily dedupe must outlive the crash, or the restarted server counts
    # the day's posts as new again — which the verifier reports (a `mismatch` on `new`).
    settings = {"database_url": database_url, "spool_dir": tmp_path / "spool",
                "metering_mode": "strict", "limits_url": redis_url,
                "limits_key_prefix": redis_prefix}  # fmt: skip
    own = OwnRecords(tmp_path / "own.jsonl")
    own.path.touch()

    server = live_server(**settings)
    answered = [0]

    def first_half() -> None:
        answered[0] = _traffic(server.base_url, token, own, ids, 1000)

    traffic = threading.Thread(target=first_half)
    traffic.start()
    while traffic.is_alive() and sum(1 for _ in own.path.open()) < 500:
        traffic.join(0.05)
    server.kill()  # SIGKILL, mid-traffic
    traffic.join()
    recorded = sum(1 for _ in own.path.open())
    assert 500 <= recorded < 1000
    restarted = live_server(**settings)  # replays the dead process's spool
    _traffic(restarted.base_url, token, own, ids, 1000 - recorded + 3)
    restarted.stop()  # drains and stores everything

    run_round(load_settings(database_url=database_url), engine, usage, force=True)
    reader = live_server(**settings)
    vkey = str(LogSigner.from_settings(load_settings()).verifier(lic.org_id))
    state = tmp_path / "state"
    args = ["check", "--base", reader.base_url, "--token", token, "--key", vkey,
            "--own", str(own.path), "--state", str(state), "--json"]  # fmt: skip
    first = io.StringIO()
    with contextlib.redirect_stdout(first):
        passed = verify(args)
    assert passed == 0, first.getvalue()
    # Requests the server recorded but died before answering are reported, not failed.
    assert len(json.loads(first.getvalue())["unanswered"]) <= 4
    lines = own.path.read_text().splitlines()
    assert len(lines) >= 1000

    # The operator changes one delivered leaf's post count in the database.
    victim = json.loads(next(line for line in lines if '"status":200' in line))
    t = usage_log.c
    row = (t.org_id == lic.org_id) & (t.request_id == victim["request_id"])
    with usage.begin() as conn:
        leaf = bytes(conn.execute(sa.select(t.leaf).where(row)).scalar_one())
        posts = len(victim["post_ids"])
        changed = leaf.replace(f"\nposts {posts}\n".encode(), f"\nposts {posts + 1}\n".encode())
        assert changed != leaf
        conn.execute(usage_log.update().where(row).values(leaf=changed))
    # Entry bundles the verifier kept are its own copy, which the changed database cannot touch;
    # a fresh download (as an auditor's) meets the change.
    shutil.rmtree(state / "tiles")
    out = tmp_path / "report.json"
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert verify(args) == 1
    report = json.loads(buffer.getvalue())
    kinds = {f["kind"] for f in report["failures"]}
    assert kinds == {"inconsistent", "mismatch"}, report["failures"]
    assert any(f["request_id"] == victim["request_id"] for f in report["failures"])
    out.write_text(buffer.getvalue())
    engine.dispose()
    usage.dispose()
