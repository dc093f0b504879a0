"""The verifier's check against a log that lies in each of the ways it can, each case with a
passing twin: the same check passes on the honest log."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import httpx

from tests.verifier.fake_log import (
    DAY_MS,
    ORG,
    VKEY,
    FakeLog,
    close_of,
    own_record,
    usage,
    write_own,
)
from tollhouse_verify.check import Report, check, route_matches
from tollhouse_verify.leaf import UsageLeaf
from tollhouse_verify.note import Signer

BASE = "http://api.example"


def honest(n: int = 40) -> tuple[list[UsageLeaf], list[dict[str, object]]]:
    leaves, own = [], []
    seen: set[int] = set()
    for i in range(n):
        posts = [1000 + i, 2000 + i % 5] if i % 3 else [3000 + i]
        status = 429 if i % 11 == 10 else 200
        leaf = usage(i, posts, status)
        if status == 200:
            # The daily dedupe: a post delivered earlier today is not new.
            leaf = replace(leaf, new=len(set(posts) - seen))
            seen.update(posts)
        leaves.append(leaf)
        own.append(own_record(leaf, posts))
    return leaves, own


def run(log: FakeLog, own: list[dict[str, object]], tmp: Path, **kw: object) -> Report:
    path = write_own(tmp / "own.jsonl", own)
    return check(BASE, "token", VKEY, path, client=log.client(), **kw)  # type: ignore[arg-type]


def entries(leaves: list[UsageLeaf]) -> list[bytes]:
    return [leaf.encode() for leaf in leaves]


def test_the_honest_log_passes(tmp_path: Path) -> None:
    leaves, own = honest()
    data = entries(leaves)
    data.append(close_of(data, 0, len(data)).encode())
    report = run(FakeLog(data), own, tmp_path)
    assert report.ok, report.failures
    assert (report.entries, report.matched, report.closes) == (41, 40, 1)


def test_a_tampered_leaf_is_a_mismatch_and_breaks_the_kept_root(tmp_path: Path) -> None:
    leaves, own = honest()
    log = FakeLog(entries(leaves))
    state = tmp_path / "state"
    assert run(log, own, tmp_path, state=state).ok  # twin: kept checkpoint, honest log
    log.entries[5] = replace(leaves[5], size_bytes=leaves[5].size_bytes + 1).encode()
    # Served with the old signed checkpoint: the root no longer matches.
    report = run(log, own, tmp_path, state=state)
    assert "inconsistent" in report.kinds()
    # Re-signed at the same size: not the root the verifier kept.
    log.sign()
    assert "inconsistent" in run(log, own, tmp_path, state=state).kinds()
    # Twin without kept state: the leaf itself disagrees with the own record only if a field
    # the licensee sees changed; bytes it cannot see, posts it can.
    log.entries[5] = replace(leaves[5], posts=1, new=1, ids=leaves[5].ids).encode()
    log.sign()
    fresh = run(log, own, tmp_path)
    assert fresh.kinds() == {"mismatch"} and fresh.failures[0].request_id == leaves[5].rid


def test_a_dropped_event_is_missing_and_a_swap_with_equal_totals_is_missing_and_unknown(
    tmp_path: Path,
) -> None:
    leaves, own = honest()
    dropped = [leaf for i, leaf in enumerate(leaves) if i != 7]
    report = run(FakeLog(entries(dropped)), own, tmp_path)
    assert report.kinds() == {"missing"} and report.failures[0].request_id == leaves[7].rid
    fake = replace(leaves[7], rid=usage(900, [1]).rid)
    swapped = [fake if i == 7 else leaf for i, leaf in enumerate(leaves)]
    report = run(FakeLog(entries(swapped)), own, tmp_path)
    assert sorted(f.kind for f in report.failures) == ["missing", "unknown"]
    twice = [*leaves[:8], leaves[7], *leaves[8:]]
    report = run(FakeLog(entries(twice)), own, tmp_path)
    assert report.kinds() == {"duplicate"}


def test_rewritten_history_signed_at_a_larger_size_is_inconsistent(tmp_path: Path) -> None:
    leaves, own = honest()
    state = tmp_path / "state"
    log = FakeLog(entries(leaves[:30]))
    assert run(log, own[:30], tmp_path, state=state).ok
    # Twin: the log grows honestly.
    log.entries = entries(leaves)
    log.sign()
    assert run(log, own, tmp_path, state=state).ok
    # History rewritten (one old leaf changed) and signed larger.
    more = honest(45)[0]
    rewritten = entries(more)
    rewritten[3] = replace(more[3], size_bytes=1).encode()
    log.entries = rewritten
    log.sign()
    own45 = honest(45)[1]
    assert "inconsistent" in run(log, own45, tmp_path, state=state).kinds()
    assert list((state / "evidence").iterdir())  # both notes kept: proof of misbehaviour


def test_a_day_close_total_that_differs_from_its_leaves(tmp_path: Path) -> None:
    leaves, own = honest()
    data = entries(leaves)
    close = close_of(data, 0, len(data))
    bad = replace(close, posts=close.posts + 2)
    report = run(FakeLog([*data, bad.encode()]), own, tmp_path)
    assert report.kinds() == {"total_mismatch"}
    overlapping = replace(close, start=1, requests=close.requests - 1)
    assert "total_mismatch" in run(FakeLog([*data, overlapping.encode()]), own, tmp_path).kinds()
    # A 429 (bill 0) counted as billable.
    counted = replace(close, billable=close.billable + 1)
    assert "total_mismatch" in run(FakeLog([*data, counted.encode()]), own, tmp_path).kinds()
    assert run(FakeLog([*data, close.encode()]), own, tmp_path).ok  # twin


def test_billing_a_refused_request_breaks_the_counting_rule(tmp_path: Path) -> None:
    leaves, own = honest()
    data = entries(leaves)
    data[10] = replace(leaves[10], bill=True).encode()  # a 429
    assert run(FakeLog(data), own, tmp_path).kinds() == {"mismatch"}


def test_new_posts_above_what_own_records_deliver(tmp_path: Path) -> None:
    leaves, own = honest()
    # The same post delivered twice in a day, counted new both times.
    again = usage(60, [1001, 2001])
    leaves.append(again)
    own.append(own_record(again, [1001, 2001]))
    report = run(FakeLog(entries(leaves)), own, tmp_path)
    assert report.kinds() == {"mismatch"} and "new posts counted" in report.failures[0].detail
    leaves[-1] = replace(again, new=0)
    assert run(FakeLog(entries(leaves)), own, tmp_path).ok  # twin


def test_own_records_newer_than_the_checkpoint_are_pending(tmp_path: Path) -> None:
    leaves, own = honest()
    late = usage(41, [5], at_ms=DAY_MS + 41_000 + 2_000)
    report = run(FakeLog(entries(leaves)), [*own, own_record(late, [5])], tmp_path)
    assert report.ok and report.pending == [late.rid]


def test_signatures_known_bad_unknown_extra_and_another_organisation(tmp_path: Path) -> None:
    leaves, own = honest()
    log = FakeLog(entries(leaves))
    log.extra_signers = [Signer.from_seed("witness.example", b"\x09" * 32)]
    log.sign()
    assert run(log, own, tmp_path).ok  # an unknown extra signature is accepted
    # The known key's signature, one character changed.
    line = log.note.rstrip("\n").split("\n")[-2]
    broken = line[:-6] + ("A" if line[-6] != "A" else "B") + line[-5:]
    log.note = log.note.replace(line, broken)
    assert run(log, own, tmp_path).kinds() == {"bad_signature"}
    # Another organisation's log, signed by the same platform key under its own name.
    other = Signer.from_seed(f"api.example/usage/{ORG + 1}", b"\x03" * 32)
    assert run(FakeLog(entries(leaves), other), own, tmp_path).kinds() == {"bad_signature"}


def test_an_invoice_against_the_closes(tmp_path: Path) -> None:
    leaves, own = honest()
    data = entries(leaves)
    close = close_of(data, 0, len(data))
    log = FakeLog([*data, close.encode()])
    invoice = {"from": "2026-03-01", "to": "2026-03-02",
               "quantities": {"posts": close.posts, "billable": close.billable}}  # fmt: skip
    assert run(log, own, tmp_path, invoice=invoice).ok
    invoice["quantities"] = {"posts": close.posts + 1}
    assert run(log, own, tmp_path, invoice=invoice).kinds() == {"total_mismatch"}


def test_route_templates_match_concrete_paths() -> None:
    assert route_matches("/2/tweets/:id", "/2/tweets/123")
    assert not route_matches("/2/tweets/:id", "/2/tweets")
    assert route_matches("/2/users/by/username/:username", "/2/users/by/username/jack")
    assert not route_matches("/2/tweets/search/all", "/2/tweets/search/recent")


def test_an_entry_for_a_request_that_got_no_response_is_unanswered_not_unknown(
    tmp_path: Path,
) -> None:
    leaves, own = honest()
    lost = usage(50, [77])  # logged by the server, never answered (it died)
    failure: dict[str, object] = {"request_id": None, "status": None, "route": "GET /2/tweets/77",
               "post_ids": [], "error": "ConnectionError", "sent_ms": lost.time_ms - 3,
               "failed_ms": lost.time_ms + 40}  # fmt: skip
    log = FakeLog(entries([*leaves, lost]))
    report = run(log, [*own, failure], tmp_path)
    assert report.ok and report.unanswered == [lost.rid]
    # Twin: without the failed request on record, the entry is unknown.
    assert run(log, own, tmp_path).kinds() == {"unknown"}
    # One failed request accounts for one entry only.
    twice = FakeLog(entries([*leaves, lost, usage(51, [77], at_ms=lost.time_ms + 1)]))
    assert run(twice, [*own, failure], tmp_path).kinds() == {"unknown"}


def test_full_bundles_are_fetched_once_with_a_state_directory(tmp_path: Path) -> None:
    leaves = [usage(i, [9000 + i]) for i in range(600)]
    own = [own_record(leaf, [9000 + i]) for i, leaf in enumerate(leaves)]
    log = FakeLog(entries(leaves))
    fetched: list[str] = []
    handler = log.handler

    def counting(request: httpx.Request) -> httpx.Response:
        fetched.append(request.url.path)
        return handler(request)

    log.handler = counting  # type: ignore[method-assign]
    state = tmp_path / "state"
    assert run(log, own, tmp_path, state=state).ok
    first = list(fetched)
    fetched.clear()
    assert run(log, own, tmp_path, state=state).ok
    assert len([p for p in first if "entries" in p]) == 3
    assert [p for p in fetched if "entries" in p] == ["/usage-log/v1/tile/entries/002.p/88"]
