"""Obligations and holdings: deadlines from notice per licensee, evidence of holding after
the deadline, the 30-day rule of user deletions, one count however often a notice repeats,
and no organisation seeing another's holdings."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from tests.api.sample_corpus import SampleCorpus, build
from tests.metering.factories import make_event
from tollhouse.access.agreements import default_agreement
from tollhouse.access.plans import default_plans
from tollhouse.access.service import AccessService
from tollhouse.compliance import content_events
from tollhouse.compliance.content_events import ContentEvent
from tollhouse.compliance.jobs import JobService
from tollhouse.compliance.service import ComplianceService
from tollhouse.metering.sql_store import record_events


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    engine: Engine
    usage: Engine
    corpus: SampleCorpus
    clock: Clock
    day0: datetime
    orgs: dict[str, tuple[int, int]]  # name -> (org id, app id)
    service: ComplianceService
    jobs: JobService

    def at(self, days: float) -> datetime:
        return self.day0 + timedelta(days=days)

    def deliver(self, org: str, days: float, post_ids=(), user_ids=(), refused=()) -> None:  # type: ignore[no-untyped-def]
        org_id, app_id = self.orgs[org]
        event = make_event(random.Random(), org_id, app_id, self.at(days), post_ids=tuple(post_ids))
        record_events(
            self.usage, [replace(event, user_ids=tuple(user_ids), refused_ids=tuple(refused))]
        )

    def event(self, subject: str, subject_id: int, name: str, days: float) -> None:
        content_events.record(
            self.engine,
            [ContentEvent(subject, subject_id, name, self.at(days))],  # type: ignore[arg-type]
        )

    def obligations(self, org: str, days: float) -> list[dict[str, object]]:
        self.clock.now = self.at(days)
        return [o.as_dict() for o in self.service.obligations(org)]

    def download_job(self, org: str, days: float, ids: list[int], job_type: str = "tweets") -> None:
        self.clock.now = self.at(days)
        org_id, app_id = self.orgs[org]
        job = self.jobs.create(org_id, app_id, job_type, None, False)
        self.jobs.upload(job.upload_token, ["\n".join(map(str, ids)).encode()])
        self.jobs.download(job.download_token)


@pytest.fixture
def world(engine: Engine, usage_engine: Engine) -> Iterator[World]:
    corpus = build(engine)
    access = AccessService(engine)
    access.load_plans(default_plans(), actor="tests")
    access.publish_agreement(default_agreement(), actor="tests")
    orgs = {}
    for name in ("L", "M"):
        view = access.create_org(name, "enterprise", actor="tests")
        app = access.create_app(name, f"{name}-app", actor="tests")
        orgs[name] = (view.id, app.id)
    day0 = (corpus.now + timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)
    clock = Clock(day0)
    yield World(
        engine, usage_engine, corpus, clock, day0, orgs,
        ComplianceService(engine, usage_engine, clock), JobService(engine, clock),
    )  # fmt: skip


def _visible(world: World, n: int) -> list[int]:
    return world.corpus.visible_ids()[:n]


def test_no_notice_then_job_download_starts_the_deadline(world: World) -> None:
    (post,) = _visible(world, 1)
    world.deliver("L", 0, [post])
    world.event("post", post, "delete", 10)
    assert world.obligations("L", 9) == []
    (owed,) = world.obligations("L", 12)
    assert owed["status"] == "no_notice" and owed["deadline"] is None
    # M never received the post: nothing is owed by M.
    assert world.obligations("M", 12) == []
    world.download_job("L", 20, [post])
    (owed,) = world.obligations("L", 20.5)
    assert owed["status"] == "open" and owed["notice_channel"] == "job"
    assert owed["deadline"] == world.at(21).isoformat()
    (owed,) = world.obligations("L", 21.5)
    assert owed["status"] == "met"
    # Looking the post up again on day 22 is evidence of holding it after the deadline.
    world.deliver("L", 22, refused=[post])
    (owed,) = world.obligations("L", 23)
    assert owed["status"] == "late" and owed["evidence"] == "asked_again"


def test_a_later_upload_is_evidence_and_repeated_notices_count_once(world: World) -> None:
    a, b = _visible(world, 2)
    world.deliver("L", 0, [a, b])
    world.event("post", a, "delete", 1)
    world.download_job("L", 2, [a, b])
    world.download_job("L", 2.5, [a])  # a second download: the notice stays the first one
    owed = world.obligations("L", 2.6)
    assert [(o["id"], o["status"]) for o in owed] == [(str(a), "open")]
    assert owed[0]["notice_at"] == world.at(2).isoformat()
    world.download_job("L", 5, [a])  # still uploading the id three days after its deadline
    (late,) = world.obligations("L", 6)
    assert late["status"] == "late" and late["evidence"] == "job_upload"
    assert late["evidence_at"] == world.at(5).isoformat()


def test_user_delete_undone_within_30_days_makes_no_post_deletes(world: World) -> None:
    corpus = world.corpus
    visible = [u for u in sorted(corpus.users) if u not in corpus.hidden_users]
    undone, kept = visible[0], visible[1]
    posts_of = {
        u: [p.id for p in corpus.posts.values() if p.author_id == u and corpus.visible(p)]
        for u in (undone, kept)
    }
    world.deliver("L", 0, [*posts_of[undone], *posts_of[kept]], user_ids=[undone, kept])
    world.event("user", undone, "user_delete", 1)
    world.event("user", undone, "user_undelete", 11)
    world.event("user", kept, "user_delete", 1)
    owed = world.obligations("L", 40)
    derived = {(o["id"], o["event"]) for o in owed if o["subject"] == "post"}
    assert derived == {(str(p), "delete") for p in posts_of[kept]}
    users_owed = {o["id"] for o in owed if o["subject"] == "user"}
    assert users_owed == {str(undone), str(kept)}  # the user deletions themselves
    # Before the 30 days are up, no post deletes at all.
    assert not [o for o in world.obligations("L", 30) if o["subject"] == "post"]


def test_operator_notice_and_holdings(world: World) -> None:
    a, b, c = _visible(world, 3)
    world.deliver("L", 0, [a, b, a, b, a])
    world.deliver("M", 0, [c])
    world.event("post", a, "delete", 3)
    world.clock.now = world.at(4)
    assert world.service.notify("L", None, "tests") == 1
    assert world.service.notify("L", None, "tests") == 0
    (owed,) = world.obligations("L", 4.5)
    assert owed["notice_channel"] == "operator" and owed["status"] == "open"
    report = world.service.holdings("L").as_dict()
    assert report["distinct_posts"] == 2 and report["removed_since"]["posts"] == 1
    assert report["obligations"] == {"open": 1, "met": 0, "late": 0, "no_notice": 0}
    assert sum(m["posts"] for m in report["by_month"].values()) == 2
    other = world.service.holdings("M").as_dict()
    assert other["distinct_posts"] == 1 and other["removed_since"]["posts"] == 0
    assert other["obligations"] == {"open": 0, "met": 0, "late": 0, "no_notice": 0}
    # A period before the deliveries holds nothing.
    early = world.service.holdings("L", end=world.at(0).date()).as_dict()
    assert early["distinct_posts"] == 0
