"""The other rules, each on a crafted scenario and a benign twin, through metering's store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from tests.compliance.findings.world import DAY0, World, event
from tollhouse.compliance.findings.sources import DeletionObligation


def test_over_entitlement_hard_cap_and_endpoints_outside_the_plan(world: World) -> None:
    capped = world.plan("capped", monthly_post_cap=1000, overage_per_1k=None,
                        endpoints=frozenset({"/2/tweets", "/2/tweets/:id"}))  # fmt: skip
    over = world.org("Over Cap", ["over"], plan=capped)
    within = world.org("Within Cap", ["within"], plan=capped)
    world.record(
        [
            event(
                over, "over", DAY0 + timedelta(hours=i), "/2/tweets", range(i * 100, i * 100 + 100)
            )
            for i in range(12)
        ]
        + [event(over, "over", DAY0, "/2/tweets/search/all", [1])]
        + [event(within, "within", DAY0, "/2/tweets", range(900))]
    )
    world.evaluate(only_rules=["volume.over_entitlement"])
    found = {
        f.evidence.get("endpoint", "cap"): f for f in world.findings(rule="volume.over_entitlement")
    }
    assert set(found) == {"cap", "/2/tweets/search/all"}
    assert {f.org for f in found.values()} == {"Over Cap"}
    assert found["cap"].evidence["counts"] == {
        "posts": 1201,
        "monthly_post_cap": 1000,
        "over_by": 201,
    }
    assert found["/2/tweets/search/all"].evidence["counts"] == {"requests": 1, "posts": 1}


def test_split_across_apps_near_their_limits_from_shared_clients(world: World) -> None:
    plan = world.plan("small", rate_limits={"/2/tweets/search/recent": (10, 3600)})
    split = world.org("Splitter", ["split-a", "split-b", "split-c"], plan=plan)
    apart = world.org("Separate Teams", ["team-a", "team-b"], plan=plan)
    events = []
    for hour in range(24):
        at = DAY0 + timedelta(hours=hour)
        for app in ("split-a", "split-b", "split-c"):
            events += [event(split, app, at, ip="192.0.2.7", agent="worker/1") for _ in range(9)]
        events += [event(apart, "team-a", at, ip="198.51.100.1", agent="a/1") for _ in range(9)]
        events += [event(apart, "team-b", at, ip="203.0.113.1", agent="b/1") for _ in range(9)]
    world.record(events)
    world.evaluate(only_rules=["volume.split_across_apps"])
    (f,) = world.findings(rule="volume.split_across_apps")
    assert f.org == "Splitter" and f.evidence["apps"] == ["split-a", "split-b", "split-c"]
    assert f.evidence["shared_networks"] == ["192.0.2.0/24"]
    assert f.evidence["shared_agents"] == ["worker/1"]


def test_use_case_mismatch_archive_sweep_and_test_app_volume(world: World) -> None:
    lic = world.org("Mixed", ["display-app"], use_cases=["display"])
    world.service.create_app("Mixed", "staging-app", "tests", ["search_and_analytics"])
    lic.apps["staging-app"] = next(
        a.id for a in world.service.list_apps("Mixed") if a.name == "staging-app"
    )
    lic.keys["staging-app"] = world.service.create_key("staging-app", actor="tests").id
    fine = world.org("Fits", ["research-app"], use_cases=["academic_research"])
    world.rules_toml = '[rules."use_case.mismatch"]\ntest_max_monthly_requests = 1500\n'
    events = [event(lic, "display-app", DAY0, "/2/tweets/search/all") for _ in range(800)]
    events += [event(lic, "display-app", DAY0, "/2/tweets") for _ in range(400)]
    events += [event(lic, "staging-app", DAY0, "/2/tweets") for _ in range(2000)]
    events += [event(fine, "research-app", DAY0, "/2/tweets/search/all") for _ in range(3000)]
    world.record(events)
    world.evaluate(only_rules=["use_case.mismatch"])
    found = {
        (f.app, f.evidence["counts"].get("full_archive_share"))
        for f in world.findings(rule="use_case.mismatch")
    }
    assert found == {("display-app", 0.6667), ("staging-app", None)}


def test_government_indicators_from_names_networks_and_queries(world: World) -> None:
    world.rules_toml = '[government]\nnetworks = ["192.0.2.0/24"]\n'
    lic = world.org("Vendor", ["vendor-app"])
    clean = world.org("Clean", ["clean-app"])
    q = urlencode({"query": "border force raids"})
    world.record(
        [
            event(lic, "vendor-app", DAY0, "/2/tweets", [1], end_user="Metropolitan Police"),
            event(lic, "vendor-app", DAY0, "/2/tweets", [2], ip="192.0.2.44"),
            event(lic, "vendor-app", DAY0, "/2/tweets/search/recent", [3], query_string=q),
            event(clean, "clean-app", DAY0, "/2/tweets", [1], end_user="Acme Retail"),
            event(clean, "clean-app", DAY0, "/2/tweets/search/recent", [2],
                  query_string=urlencode({"query": "policies coffee"})),
        ]
    )  # fmt: skip
    world.evaluate(only_rules=["government.indicator"])
    found = {f.evidence["signal"]: f for f in world.findings(rule="government.indicator")}
    assert set(found) == {"end_user_name", "network", "query"}
    assert {f.org for f in found.values()} == {"Vendor"}
    assert found["network"].grade == "probable" and found["query"].grade == "indicator"
    assert found["end_user_name"].evidence["matched"] == ["Metropolitan Police"]
    assert found["query"].evidence["matched"] == ["border force"]


def test_surveillance_many_targeted_accounts_and_geo_against_topical_queries(world: World) -> None:
    watcher = world.org("Watcher", ["watch-app"])
    brand = world.org("Brand", ["brand-app"])
    events = []
    for i in range(30):
        handles = " OR ".join(f"from:person{i * 2 + j}" for j in range(2))
        events.append(event(watcher, "watch-app", DAY0, "/2/tweets/search/recent",
                            query_string=urlencode({"query": handles})))  # fmt: skip
    events.append(event(watcher, "watch-app", DAY0, "/2/tweets/search/stream",
                        stream_rules=["point_radius:[2.35 48.85 5km]"]))  # fmt: skip
    events += [event(brand, "brand-app", DAY0, "/2/tweets/search/recent",
                     query_string=urlencode({"query": "acme OR @acme_support"}))] * 3  # fmt: skip
    world.record(events)
    world.evaluate(only_rules=["surveillance.indicator"])
    (f,) = world.findings(rule="surveillance.indicator")
    assert f.org == "Watcher" and f.grade == "indicator"
    assert f.evidence["signals"] == {"targeted_accounts": 60, "geo_operators": ["point_radius:"]}


def test_service_bureau_on_both_organisations_sharing_networks(world: World) -> None:
    a = world.org("Client A", ["a-app"])
    b = world.org("Client B", ["b-app"])
    c = world.org("Client C", ["c-app"])
    events = []
    for n in range(4):
        events.append(event(a, "a-app", DAY0, ip=f"10.9.{n}.1"))
        events.append(event(b, "b-app", DAY0, ip=f"10.9.{n}.2"))
    events += [event(c, "c-app", DAY0, ip=f"10.8.{n}.1") for n in range(4)]
    world.record(events)
    world.evaluate(only_rules=["keys.service_bureau"])
    found = sorted(
        (f.org, f.evidence["other_org"]) for f in world.findings(rule="keys.service_bureau")
    )
    assert found == [("Client A", "Client B"), ("Client B", "Client A")]


class _Obligations:
    def __init__(self, items: list[DeletionObligation]) -> None:
        self.items = items

    def obligations(self, org_id: int, start: datetime, end: datetime) -> list[DeletionObligation]:
        return [o for o in self.items if o.org_id == org_id and start <= o.event_at < end]


def day(n: int) -> datetime:
    return DAY0 + timedelta(days=n)


def test_deletion_late_and_no_notice_consumed(world: World) -> None:
    lic = world.org("Holder", ["holder-app"])
    other = world.org("Prompt", ["prompt-app"])
    world.obligations = _Obligations(
        [
            # Told on day 20 about a post deleted on day 10, looked it up again on day 22.
            DeletionObligation(lic.id, 42, day(10), day(20), 24),
            # Deleted on day 12 and never consumed.
            DeletionObligation(lic.id, 43, day(12), None, 24),
            # Told at once, never served again.
            DeletionObligation(other.id, 44, day(10), day(10) + timedelta(hours=1), 24),
        ]
    )
    seen = event(lic, "holder-app", day(22), "/2/tweets/:id", [42])
    world.record(
        [event(lic, "holder-app", DAY0, "/2/tweets/search/recent", [42, 43]), seen,
         event(other, "prompt-app", DAY0, "/2/tweets/search/recent", [44]),
         event(other, "prompt-app", day(10) + timedelta(minutes=30), "/2/tweets/:id", [44])]
    )  # fmt: skip
    world.evaluate(
        only_rules=["deletion.late", "deletion.no_notice_consumed"],
        now=datetime(2026, 7, 1, tzinfo=UTC),
    )
    (late,) = world.findings(rule="deletion.late")
    assert late.org == "Holder" and late.grade == "confirmed"
    assert late.evidence["samples"][0]["request_id"] == seen.request_id
    assert late.period_start == day(21)
    missed = sorted(
        (f.org, f.period_start) for f in world.findings(rule="deletion.no_notice_consumed")
    )
    assert missed == [("Holder", day(10)), ("Holder", day(12))]
