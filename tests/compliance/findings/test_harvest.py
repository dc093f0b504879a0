"""Harvesting against brand monitoring at the same volume, through metering's store: one day,
the full-archive search's window near its limit every hour."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from tests.compliance.findings.world import DAY0, Org, World, event

RULE = "harvest.bulk_coverage"
PER_HOUR = 115  # of a 120-an-hour limit (30 per 15 minutes): 96 % used
POSTS = 100


def _day(world: World, org: Org, harvester: bool) -> None:
    events = []
    next_id = 10**12 if harvester else 2 * 10**12
    window_start = DAY0 - timedelta(days=365)
    for hour in range(24):
        for i in range(PER_HOUR):
            at = DAY0 + timedelta(hours=hour, seconds=i * 3600 / PER_HOUR)
            if harvester:
                # Adjacent one-hour windows of the archive, a query matching everything.
                end = window_start + timedelta(hours=1)
                query = urlencode({"query": "lang:en", "start_time": f"{window_start:%Y-%m-%dT%H:%M:%SZ}",  # noqa: E501
                                   "end_time": f"{end:%Y-%m-%dT%H:%M:%SZ}"})  # fmt: skip
                window_start = end
                ids = list(range(next_id, next_id + POSTS))
                next_id += POSTS
                if i == 0:
                    ids[0] = 10**12  # a few re-reads: distinct/total ≈ 0.99
            else:
                topic = ["acme coffee", "acme espresso beans", "#acme launch review"][i % 3]
                query = urlencode({"query": topic, "start_time": "2026-02-20T00:00:00Z"})
                # The same posts read again and again (each about eight times a day).
                base = next_id + ((hour * PER_HOUR + i) % 345) * POSTS
                ids = list(range(base, base + POSTS))
            events.append(
                event(org, org.name.lower(), at, "/2/tweets/search/all", ids, query_string=query)
            )
    world.record(events)


def test_a_harvester_fires_and_a_brand_monitor_at_the_same_volume_does_not(world: World) -> None:
    plan = world.plan("harvest-plan", rate_limits={"/2/tweets/search/all": (30, 900)})
    harvester = world.org("Harvester", ["harvester"], plan=plan)
    monitor = world.org("Monitor", ["monitor"], plan=plan, use_cases=["monitoring"])
    _day(world, harvester, harvester=True)
    _day(world, monitor, harvester=False)
    world.evaluate(only_rules=[RULE, "volume.limit_saturation"])
    (f,) = world.findings(rule=RULE)
    assert f.org == "Harvester" and f.app == "harvester"
    signals = f.evidence["signals"]
    assert 0.98 < signals["uniqueness"] < 1.0
    assert signals["tiling"] == 1.0 and signals["broad_queries"] == 1.0
    assert signals["saturated_hours_per_day"] == 24
    assert signals["inter_arrival_cv"] < 0.2
    assert f.grade == "probable" and f.clause == "2026-01 §2"
    assert f.evidence["counts"]["posts"] == 24 * PER_HOUR * POSTS
    # Both saturate the window all day: that is its own finding, for each of them.
    saturated = {x.org for x in world.findings(rule="volume.limit_saturation")}
    assert saturated == {"Harvester", "Monitor"}
