"""Redistribution: ids delivered to L and looked up only by id by M, summed across L's apps over
rolling 30-day windows (volumes written through metering's store), and canaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.compliance.findings.world import Org, World, chunks, event
from tollhouse.compliance.findings.service import plant_canary

RULE = "redistribution.id_containment"
BASE = 10**15


def _hand_over(
    world: World, l_org: Org, m_org: Org, per_app: list[tuple[str, int, datetime]]
) -> None:
    """Each (app, n, day): L's app finds n distinct ids by search that day; M looks them all
    up by id over the next days."""
    events = []
    offset = BASE
    for app, n, day in per_app:
        ids = range(offset, offset + n)
        offset += n
        for i, batch in enumerate(chunks(ids, 500)):
            at = day + timedelta(seconds=i)
            events.append(event(l_org, app, at, "/2/tweets/search/all", batch))
            events.append(
                event(m_org, "m-app", at + timedelta(days=1), "/2/tweets", batch, ip="203.0.113.5")
            )
    world.record(events)


def _orgs(world: World) -> tuple[Org, Org]:
    return world.org("Licensee L", ["l-1", "l-2", "l-3"]), world.org("Entity E", ["m-app"])


def test_three_apps_of_600k_each_fire_only_summed(world: World) -> None:
    l_org, m_org = _orgs(world)
    start = datetime(2026, 3, 2, tzinfo=UTC)
    _hand_over(
        world,
        l_org,
        m_org,
        [("l-1", 600_000, start), ("l-2", 600_000, start + timedelta(days=10)),
         ("l-3", 600_000, start + timedelta(days=22))],
    )  # fmt: skip
    world.evaluate(only_rules=[RULE])
    (f,) = world.findings(rule=RULE)
    assert f.org == "Licensee L" and f.grade == "probable" and f.clause == "2026-01 §3"
    assert f.evidence["recipient"] == "Entity E"
    counts = f.evidence["counts"]
    assert counts["limit"] == 1_500_000 and counts["post_ids"] == 1_800_000
    assert counts["by_app"] == {"l-1": 600_000, "l-2": 600_000, "l-3": 600_000}
    # The window crossed the limit the day M looked up the third app's ids.
    assert f.period_start == start + timedelta(days=23)
    assert f.evidence["sample_post_ids"][0] == str(BASE)
    assert len(f.evidence["sample_request_ids"]) >= 1


def test_two_apps_within_the_limit_stay_silent(world: World) -> None:
    l_org, m_org = _orgs(world)
    start = datetime(2026, 3, 2, tzinfo=UTC)
    _hand_over(
        world, l_org, m_org, [("l-1", 700_000, start), ("l-2", 700_000, start + timedelta(days=5))]
    )
    world.evaluate(only_rules=[RULE])
    assert world.findings(rule=RULE) == []


def test_a_calendar_month_split_still_trips_the_rolling_window(world: World) -> None:
    l_org, m_org = _orgs(world)
    _hand_over(
        world,
        l_org,
        m_org,
        [("l-1", 900_000, datetime(2026, 3, 20, tzinfo=UTC)),
         ("l-2", 900_000, datetime(2026, 4, 5, tzinfo=UTC))],
    )  # fmt: skip
    world.evaluate(only_rules=[RULE])
    (f,) = world.findings(rule=RULE)
    assert f.evidence["counts"]["post_ids"] == 1_800_000
    assert f.period_start == datetime(2026, 4, 6, tzinfo=UTC)


def test_ids_the_recipient_also_found_itself_do_not_count(world: World) -> None:
    l_org, m_org = _orgs(world)
    start = datetime(2026, 3, 2, tzinfo=UTC)
    _hand_over(world, l_org, m_org, [("l-1", 900_000, start), ("l-2", 900_000, start)])
    # M searched for the second half itself: not handed over.
    world.record(
        [
            event(m_org, "m-app", start, "/2/tweets/search/recent", batch)
            for batch in chunks(range(BASE + 900_000, BASE + 1_800_000), 500)
        ]
    )
    world.evaluate(only_rules=[RULE])
    assert world.findings(rule=RULE) == []


def test_a_canary_asked_for_by_another_licensee_is_confirmed_against_its_owner(
    world: World,
) -> None:
    l_org, m_org = _orgs(world)
    quiet = world.org("Quiet Q", ["q-app"])
    canary, quiet_canary = 7_000_000_000_001, 7_000_000_000_002
    plant_canary(world.engine, canary, "Licensee L", "for L only", "tests")
    plant_canary(world.engine, quiet_canary, "Quiet Q", "for Q only", "tests")
    day = datetime(2026, 3, 10, tzinfo=UTC)
    asked = event(m_org, "m-app", day + timedelta(days=2), "/2/tweets/:id", [canary])
    world.record(
        [
            event(l_org, "l-2", day, "/2/tweets/search/recent", [canary, 5, 6]),
            event(quiet, "q-app", day, "/2/tweets/search/recent", [quiet_canary]),
            asked,
        ]
    )
    world.evaluate(only_rules=["redistribution.canary"])
    (f,) = world.findings(rule="redistribution.canary")
    assert f.org == "Licensee L" and f.grade == "confirmed" and f.severity == "critical"
    assert f.evidence["recipient"] == "Entity E"
    assert f.evidence["canary_post_id"] == str(canary)
    assert f.evidence["sample_request_ids"] == [asked.request_id]
