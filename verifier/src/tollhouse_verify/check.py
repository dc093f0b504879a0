"""The licensee's check of its usage log, from the signed checkpoint down to every leaf.

    1. the checkpoint's signature (the pinned key) and origin (the key's name)
    2. consistency with the last checkpoint kept in the state directory
    3. every entry downloaded (tlog-tiles entry bundles) and the root rebuilt
    4. every entry parsed strictly: unique request ids, values in bounds
    5. the entries joined with the licensee's own records of its responses
    6. each day close equal to the sum of its range; an invoice equal to the closes

Each failure has a kind: `bad_signature`, `wrong_origin`, `inconsistent`, `malformed`,
`duplicate`, `missing`, `unknown`, `mismatch`, `total_mismatch`. Own records newer than the
checkpoint's entries are `pending`, not missing.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from tollhouse_verify import leaf as leaves
from tollhouse_verify.checkpoint import SignedCheckpoint, open_checkpoint
from tollhouse_verify.errors import FormatError, NoteError, ProofError, VerifyError, WrongOrigin
from tollhouse_verify.hook import read_own
from tollhouse_verify.leaf import AdjustLeaf, CloseLeaf, UsageLeaf, ids_digest
from tollhouse_verify.note import Verifier
from tollhouse_verify.tiles import TILE_WIDTH, decode_bundle, entries_path, tiles_for
from tollhouse_verify.tree import RootBuilder, leaf_hash, verify_consistency

PREFIX = "/usage-log/v1/"
# Own records this close to the newest entry may not be stored yet: pending, not missing.
PENDING_WINDOW_MS = 10_000
_DAY_MS = 86_400_000
_EPOCH = date(1970, 1, 1)
TOTAL_FIELDS = ("requests", "billable", "posts", "new", "size_bytes")
INVOICE_FIELDS = {
    "requests": "requests",
    "billable": "billable",
    "posts": "posts",
    "new": "new",
    "bytes": "size_bytes",
}


@dataclass(frozen=True)
class Failure:
    kind: str
    detail: str
    request_id: str | None = None
    index: int | None = None


@dataclass
class Report:
    origin: str = ""
    size: int = 0
    root: str = ""
    entries: int = 0
    own_records: int = 0
    matched: int = 0
    closes: int = 0
    pending: list[str] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def fail(
        self, kind: str, detail: str, request_id: str | None = None, index: int | None = None
    ) -> None:
        self.failures.append(Failure(kind, detail, request_id, index))

    def kinds(self) -> set[str]:
        return {f.kind for f in self.failures}

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ok"] = self.ok
        return out


def uuid7_ms(request_id: str) -> int:
    """The Unix milliseconds at the front of a UUIDv7."""
    return int(request_id.replace("-", "")[:12], 16)


def route_matches(template: str, path: str) -> bool:
    """Whether a concrete path (`/2/tweets/123`) is an instance of a template (`/2/tweets/:id`)."""
    want = template.strip("/").split("/")
    got = path.rstrip("/").strip("/").split("/")
    return len(want) == len(got) and all(
        (w.startswith(":") and g) or w == g for w, g in zip(want, got, strict=True)
    )


_ROUTES: dict[tuple[str, str, str], bool] = {}


def _same_route(leaf: UsageLeaf, own_route: str) -> bool:
    key = (leaf.method, leaf.route, own_route)
    same = _ROUTES.get(key)
    if same is None:
        method, _, path = own_route.partition(" ")
        same = method == leaf.method and route_matches(leaf.route, path)
        if len(_ROUTES) < 100_000:
            _ROUTES[key] = same
    return same


def _digest(ids: list[Any]) -> bytes | None:
    try:
        return ids_digest(ids)
    except (TypeError, ValueError, OverflowError, struct.error):
        return ids_digest(int(i) for i in ids)


def _is_billable(status: int) -> bool:
    return 200 <= status < 300


class LogSource:
    """Reads one log over HTTP with the licensee's bearer key."""

    def __init__(
        self,
        base: str,
        token: str,
        client: httpx.Client | None = None,
        cache: Path | None = None,
    ) -> None:
        self.base = base.rstrip("/") + PREFIX
        self.client = client or httpx.Client(timeout=60)
        self.headers = {"Authorization": f"Bearer {token}"}
        # Full entry bundles never change (tlog-tiles): kept here, fetched once. Whatever is
        # read from the cache is checked like the rest, by the root it must rebuild.
        self.cache = cache

    def get(self, path: str, **params: Any) -> bytes:
        response = self.client.get(self.base + path, headers=self.headers, params=params or None)
        if response.status_code != 200:
            raise VerifyError(f"GET {path}: HTTP {response.status_code} {response.text[:200]}")
        return response.content

    def bundle(self, n: int, width: int) -> bytes:
        path = entries_path(n, width)
        cached = self.cache / path if self.cache is not None and width == TILE_WIDTH else None
        if cached is not None and cached.is_file():
            return cached.read_bytes()
        data = self.get(path)
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            cached.write_bytes(data)
        return data

    def entries(self, size: int) -> Iterable[bytes]:
        for n, width in tiles_for(size):
            yield from decode_bundle(self.bundle(n, width), width)


def _load_state(state: Path | None, verifier: Verifier, origin: str) -> SignedCheckpoint | None:
    if state is None or not (state / "checkpoint").is_file():
        return None
    return open_checkpoint((state / "checkpoint").read_text("utf-8"), [verifier], origin)


def _keep(state: Path | None, signed: SignedCheckpoint, evidence: bool = False) -> None:
    if state is None:
        return
    state.mkdir(parents=True, exist_ok=True)
    folder = state / ("evidence" if evidence else "checkpoints")
    folder.mkdir(exist_ok=True)
    (folder / f"{signed.checkpoint.size}.note").write_text(signed.note, "utf-8")
    if not evidence:
        (state / "checkpoint").write_text(signed.note, "utf-8")


def check(
    base: str,
    token: str,
    vkey: str,
    own_path: str | Path,
    state: str | Path | None = None,
    invoice: dict[str, Any] | None = None,
    client: httpx.Client | None = None,
) -> Report:
    """Run the whole check; the report lists every failure found."""
    report = Report()
    verifier = Verifier.parse(vkey)
    origin = verifier.name
    report.origin = origin
    state_dir = Path(state) if state is not None else None
    source = LogSource(base, token, client, state_dir / "tiles" if state_dir else None)
    # 1. the checkpoint
    try:
        signed = open_checkpoint(source.get("checkpoint"), [verifier], origin)
    except WrongOrigin as exc:
        report.fail("wrong_origin", str(exc))
        return report
    except FormatError as exc:
        report.fail("malformed", str(exc))
        return report
    except NoteError as exc:
        report.fail("bad_signature", str(exc))
        return report
    cp = signed.checkpoint
    report.size, report.root = cp.size, signed.note.split("\n")[2]
    # 2. consistency with the kept checkpoint
    try:
        kept = _load_state(state_dir, verifier, origin)
    except VerifyError as exc:
        report.fail("bad_signature", f"the kept checkpoint: {exc}")
        return report
    if kept is not None:
        old = kept.checkpoint
        try:
            proof_text = b""
            if 0 < old.size < cp.size:
                proof_text = source.get("consistency", old=old.size, new=cp.size)
            proof = [_b64(line) for line in proof_text.decode().split("\n") if line]
            verify_consistency(old.size, cp.size, proof, old.root, cp.root)
        except (ProofError, VerifyError, ValueError) as exc:
            report.fail("inconsistent", f"size {old.size} → {cp.size}: {exc}")
            _keep(state_dir, signed, evidence=True)
    # 3. the entries and the root
    org = _org_of(origin)
    builder = RootBuilder()
    parsed: list[tuple[int, leaves.Leaf | None]] = []
    try:
        for index, data in enumerate(source.entries(cp.size)):
            builder.append(leaf_hash(data))
            at_kept = kept is not None and builder.size == kept.checkpoint.size
            if at_kept and kept is not None and builder.root() != kept.checkpoint.root:
                report.fail(
                    "inconsistent",
                    f"the entries do not give the kept root of size {kept.checkpoint.size}",
                )
            # 4. strict parse
            try:
                parsed.append((index, leaves.parse(data)))
            except FormatError as exc:
                report.fail("malformed", str(exc), index=index)
                parsed.append((index, None))
    except (VerifyError, ValueError) as exc:
        report.fail("inconsistent", f"the entries could not be read: {exc}")
        return report
    report.entries = len(parsed)
    if builder.root() != cp.root:
        report.fail("inconsistent", "the entries do not give the checkpoint's root")
    own, failed = _own(own_path, report)
    _join(parsed, own, failed, org, report)
    _closes(parsed, report)
    if invoice is not None:
        _invoice(parsed, invoice, report)
    if "inconsistent" not in report.kinds() and "bad_signature" not in report.kinds():
        _keep(state_dir, signed)
    return report


def _b64(text: str) -> bytes:
    import base64

    raw = base64.b64decode(text, validate=True)
    if len(raw) != 32:
        raise ValueError("a proof hash is 32 bytes")
    return raw


def _org_of(origin: str) -> int | None:
    tail = origin.rsplit("/usage/", 1)
    return int(tail[1]) if len(tail) == 2 and tail[1].isdigit() else None


# Clocks of the licensee and the platform may differ by this much.
CLOCK_SKEW_MS = 5_000


def _own(
    path: str | Path, report: Report
) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """Own records by request id, and the requests that got no response."""
    own: dict[str, dict[str, Any]] = {}
    failed: list[dict[str, Any]] = []
    for record in read_own(path):
        rid = record.get("request_id")
        if isinstance(rid, str):
            own.setdefault(rid, record)
        elif isinstance(record.get("sent_ms"), int) and isinstance(record.get("failed_ms"), int):
            failed.append(record)
    report.own_records = len(own)
    return own, failed


def _unanswered(leaf: UsageLeaf, failed: list[dict[str, Any]]) -> bool:
    """Take (once) a request without a response that this entry may be the log's record of."""
    for i, record in enumerate(failed):
        method, _, path = str(record.get("route", "")).partition(" ")
        if (
            method == leaf.method
            and route_matches(leaf.route, path)
            and record["sent_ms"] - CLOCK_SKEW_MS
            <= leaf.time_ms
            <= record["failed_ms"] + CLOCK_SKEW_MS
        ):
            del failed[i]
            return True
    return False


def _join(
    parsed: list[tuple[int, leaves.Leaf | None]],
    own: dict[str, dict[str, Any]],
    failed: list[dict[str, Any]],
    org: int | None,
    report: Report,
) -> None:
    seen: dict[str, int] = {}
    newest_ms = 0
    # day → (Σ new of the day's own leaves, the distinct posts the own records delivered)
    days: dict[int, tuple[int, set[int]]] = {}
    for index, leaf in parsed:
        if leaf is None:
            continue
        if org is not None and leaf.org != org:
            report.fail("wrong_origin", f"an entry of organisation {leaf.org}", index=index)
        if isinstance(leaf, CloseLeaf):
            continue
        if leaf.rid in seen:
            report.fail("duplicate", f"request id also at index {seen[leaf.rid]}", leaf.rid, index)
            continue
        seen[leaf.rid] = index
        if not isinstance(leaf, UsageLeaf):
            continue
        newest_ms = max(newest_ms, leaf.time_ms)
        if leaf.bill != _is_billable(leaf.status):
            report.fail(
                "mismatch",
                f"bill {int(leaf.bill)} for status {leaf.status} breaks {leaves.COUNTING_RULE}",
                leaf.rid,
                index,
            )
        mine = own.get(leaf.rid)
        if mine is None:
            if leaf.route.endswith("/stream"):
                continue  # a stream's interval usage: no response of its own to compare
            if _unanswered(leaf, failed):
                report.unanswered.append(leaf.rid)
                continue
            report.fail(
                "unknown", "an entry with a request id you have no record of", leaf.rid, index
            )
            continue
        report.matched += 1
        ids = mine.get("post_ids") or []
        diffs = []
        if mine.get("status") != leaf.status:
            diffs.append(f"status {leaf.status} ≠ yours {mine.get('status')}")
        if not _same_route(leaf, str(mine.get("route", ""))):
            diffs.append(f"route {leaf.method} {leaf.route} ≠ yours {mine.get('route')}")
        if not leaf.route.endswith("/stream"):
            if leaf.posts != len(ids):
                diffs.append(f"posts {leaf.posts} ≠ yours {len(ids)}")
            elif leaf.ids != _digest(ids):
                diffs.append("the delivered post ids differ from yours")
        if diffs:
            report.fail("mismatch", "; ".join(diffs), leaf.rid, index)
        if leaf.bill:
            day = leaf.time_ms // _DAY_MS
            total, distinct = days.get(day, (0, set()))
            distinct.update(ids)
            days[day] = (total + leaf.new, distinct)
    for day, (total, distinct) in sorted(days.items()):
        if total > len(distinct):
            d = _EPOCH.fromordinal(_EPOCH.toordinal() + day)
            report.fail(
                "mismatch",
                f"{d}: {total} new posts counted, your records deliver {len(distinct)} distinct",
            )
    for rid, mine in own.items():
        if rid in seen or not _is_billable(int(mine.get("status") or 0)):
            continue
        try:
            at = uuid7_ms(rid)
        except ValueError:
            at = 0
        if at > newest_ms - PENDING_WINDOW_MS:
            report.pending.append(rid)
        else:
            report.fail("missing", "your billable response is not in the log", rid)


def _closes(parsed: list[tuple[int, leaves.Leaf | None]], report: Report) -> None:
    expected_start = 0
    by_rid: dict[str, UsageLeaf] = {}
    for index, leaf in parsed:
        if isinstance(leaf, UsageLeaf):
            by_rid.setdefault(leaf.rid, leaf)
        elif isinstance(leaf, AdjustLeaf):
            ref = by_rid.get(leaf.ref)
            if ref is None:
                report.fail(
                    "mismatch", f"an adjustment of unknown request {leaf.ref}", leaf.rid, index
                )
            elif not _within(ref, leaf):
                report.fail(
                    "mismatch", f"an adjustment beyond its request {leaf.ref}", leaf.rid, index
                )
        if not isinstance(leaf, CloseLeaf):
            continue
        report.closes += 1
        if leaf.start != expected_start or leaf.end != index:
            report.fail(
                "total_mismatch",
                f"close of {leaf.day}: range [{leaf.start}, {leaf.end})"
                f" should be [{expected_start}, {index})",
                index=index,
            )
        sums = dict.fromkeys(TOTAL_FIELDS, 0)
        late = 0
        day_start = (leaf.day - _EPOCH).days * _DAY_MS
        for _i, item in parsed[leaf.start : min(leaf.end, index)]:
            if isinstance(item, UsageLeaf):
                sums["requests"] += 1
                sums["billable"] += item.bill
                sums["posts"] += item.posts
                sums["new"] += item.new
                sums["size_bytes"] += item.size_bytes
                late += item.time_ms < day_start
            elif isinstance(item, AdjustLeaf):
                sums["billable"] += item.bill
                sums["posts"] += item.posts
                sums["new"] += item.new
                sums["size_bytes"] += item.size_bytes
        for name in TOTAL_FIELDS:
            if getattr(leaf, name) != max(sums[name], 0):
                stated = getattr(leaf, name)
                report.fail(
                    "total_mismatch",
                    f"close of {leaf.day}: {name} {stated} ≠ {sums[name]} in its range",
                    index=index,
                )
        if leaf.late != late:
            report.fail(
                "total_mismatch", f"close of {leaf.day}: late {leaf.late} ≠ {late}", index=index
            )
        expected_start = index + 1


def _within(ref: UsageLeaf, adjust: AdjustLeaf) -> bool:
    """Whether the adjusted values are still those of a possible usage event."""
    posts = ref.posts + adjust.posts
    return (
        posts >= 0
        and 0 <= ref.new + adjust.new <= posts
        and 0 <= int(ref.bill) + adjust.bill <= 1
        and ref.size_bytes + adjust.size_bytes >= 0
    )


def _invoice(
    parsed: list[tuple[int, leaves.Leaf | None]], invoice: dict[str, Any], report: Report
) -> None:
    """An invoice `{"from": day, "to": day, "quantities": {...}}` against the closes of the
    UTC days [from, to)."""
    try:
        start = date.fromisoformat(str(invoice["from"]))
        end = date.fromisoformat(str(invoice["to"]))
        quantities = dict(invoice["quantities"])
    except (KeyError, TypeError, ValueError) as exc:
        report.fail("malformed", f"the invoice is not {{from, to, quantities}}: {exc}")
        return
    sums = dict.fromkeys(INVOICE_FIELDS, 0)
    covered = set()
    for _i, leaf in parsed:
        if isinstance(leaf, CloseLeaf) and start <= leaf.day < end:
            covered.add(leaf.day)
            for name, attr in INVOICE_FIELDS.items():
                sums[name] += getattr(leaf, attr)
    days = (end - start).days
    if len(covered) != days:
        report.fail("total_mismatch", f"the log closes {len(covered)} of the invoice's {days} days")
    for name, value in quantities.items():
        if name not in sums:
            report.fail("malformed", f"the invoice has an unknown quantity {name!r}")
        elif value != sums[name]:
            report.fail("total_mismatch", f"invoice {name} {value} ≠ {sums[name]} in the log")


def write_report(report: Report, path: str | Path) -> None:
    Path(path).write_text(json.dumps(report.as_dict(), indent=2), "utf-8")
