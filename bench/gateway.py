"""The licensed hot path over HTTP, side by side with its peers: requests/s, p50, p99, ratios.

Every server is pinned to core 0 (`taskset -c 0`) and driven from core 1 by wrk (64
connections, one thread), all answering the same request — a 100-id post lookup,
`GET /2/tweets?ids=<100 ids>&tweet.fields=…` — from the same SQLite file:

  bare            a plain Starlette app on the same ASGI server, same SQL, same bytes (the floor);
                  its endpoint is synchronous, so the query runs in the threadpool as Tollhouse's
  bare-inline     the same, querying on the event loop (no thread hop: the lowest floor)
  tollhouse       `tollhouse serve`: key auth, plan check, rate windows, monthly cap with daily
                  dedupe, strict metering (fsynced spool) — memory limits
  tollhouse-redis the same with TOLLHOUSE_LIMITS_URL=redis://127.0.0.1:6379/0 (unique prefix)
  tollhouse-fast  tollhouse with TOLLHOUSE_METERING_MODE=fast (spooled every 50 ms, nobody waits
                  for an fsync): no target, it shows what strict's per-response fsync costs
  diy             FastAPI + slowapi + a dict of keys + a usage counter, written as the FastAPI and
                  SQLAlchemy tutorials teach (ORM model, session dependency, pydantic
                  response_model): what a team would write in a day (bench/gateway_peers/diy.py)
  diy-lean        the same gateway around the floor's own SQL and renderer (diy_lean.py): the
                  cheapest DIY there is
  nginx           nginx + limit_req returning the same bytes from a file (when nginx is there)

Two measurements per peer and round:

  saturated   wrk's closed loop, 64 connections, as fast as the server answers: requests/s, and
              p50/p99 — which under a closed loop are 64 ÷ throughput plus the server's
              scheduling spread (Little's law), so they mostly restate requests/s;
  equal load  an open loop at the same offered rate for every peer (half of bare's saturated
              requests/s by default, `--equal-load-share`), latency measured from each request's
              scheduled send time so that a stalled server cannot hide its stall by slowing the
              sender (no coordinated omission): what the gateway adds to a request's latency
              when neither server is overloaded. The "p99 ≤ bare + 1 ms" check uses this one.
              wrk has no fixed-rate mode (that is wrk2, not in Debian), so this load comes from a
              Python asyncio generator on the client core, the same for every peer.

Peers take turns (bare, tollhouse, tollhouse-redis, diy, nginx, bare, …) so that load from
other work on the machine falls on all of them alike; each ratio is the median over rounds of
the ratio within a round. wrk is installed with apt-get if missing; without it a Python load
generator (asyncio, raw HTTP/1.1 keep-alive) is used and said so.

    .venv/bin/python bench/gateway.py [--quick] [--server uvicorn|granian|both]
        [--rounds N] [--seconds S] [--peers bare,tollhouse,...] [--equal-load-share F]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from tollhouse.access.plans import parse_plan_book
from tollhouse.access.service import AccessService, onboard
from tollhouse.corpus import lookups
from tollhouse.corpus.synthetic.generator import generate_corpus
from tollhouse.db import create_engine, usage_database_url
from tollhouse.endpoints import TEMPLATES
from tollhouse.migrations.runner import upgrade

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SERVER_CORE = "0"
CLIENT_CORE = "1"
CONNECTIONS = 64
FIELDS = "author_id,conversation_id,created_at,lang,public_metrics"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
PEERS = (
    "bare",
    "bare-inline",
    "tollhouse",
    "tollhouse-redis",
    "tollhouse-fast",
    "diy",
    "diy-lean",
    "nginx",
)


# -- the database ------------------------------------------------------------------------------


def plan_book() -> str:
    """A plan with every endpoint, limits no run reaches, and a hard monthly cap (so the cap's
    reservation and the daily dedupe run on every request, as on X's paid tiers)."""
    lines = [
        "[plans.bench]",
        'monthly_fee = "0"',
        "monthly_post_cap = 1000000000000",
        "max_apps = 10",
        "max_stream_rules = 10",
        "max_query_length = 512",
        "endpoints = [" + ", ".join(f'"{t}"' for t in TEMPLATES) + "]",
        "[plans.bench.rate_limits]",
    ]
    lines += [f'"{t}" = {{ requests = 1000000000, window_seconds = 900 }}' for t in TEMPLATES]
    return "\n".join(lines) + "\n"


def prepare(directory: Path, posts: int) -> tuple[Path, str, list[int]]:
    """Generate a corpus, onboard an org on the bench plan; (db path, token, 100 post ids)."""
    path = directory / "bench.db"
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine)
    end = datetime.now(UTC)
    generate_corpus(
        engine,
        posts,
        max(posts // 20, 10),
        seed=7,
        start=end - timedelta(days=5),
        end=end,
        progress=False,
    )
    service = AccessService(engine)
    service.load_plans(parse_plan_book(plan_book()), actor="bench")
    token = onboard(service, "Bench", "bench", ["bench-app"], actor="bench").keys[0].token
    with engine.connect() as conn:
        candidates = [row[0] for row in conn.exec_driver_sql("SELECT id FROM posts ORDER BY id")]
        found, _ = lookups.lookup_posts(conn, candidates[:: max(len(candidates) // 400, 1)])
    ids = sorted(found)[:: max(len(found) // 100, 1)][:100]
    engine.dispose()
    if len(ids) < 100:
        raise SystemExit(f"only {len(ids)} visible posts in the generated corpus")
    return path, token, ids


# -- servers -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    def start(self, workdir: Path) -> None:
        self.log = workdir / f"{self.name}.log"
        env = {**os.environ, **self.env, "PYTHONPATH": str(ROOT)}
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                ["taskset", "-c", SERVER_CORE, *self.argv],
                env=env,
                cwd=workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def python_server(name: str, target: str, server: str, port: int, env: dict[str, str]) -> Server:
    """`target` (module:app) under uvicorn (uvloop + httptools) or granian, one worker."""
    if server == "granian":
        argv = [
            str(BIN / "granian"), "--interface", "asgi", "--host", "127.0.0.1",
            "--port", str(port), "--workers", "1", "--loop", "uvloop", "--no-access-log",
            "--log-level", "warning", target,
        ]  # fmt: skip
    else:
        argv = [
            str(BIN / "python"), "-m", "uvicorn", target, "--host", "127.0.0.1",
            "--port", str(port), "--loop", "uvloop", "--http", "httptools",
            "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
    return Server(name, argv, env, port)


def tollhouse_server(name: str, server: str, port: int, db: Path, workdir: Path) -> Server:
    """`tollhouse serve` as an operator runs it, configured only through TOLLHOUSE_* env."""
    env = {
        "TOLLHOUSE_CONFIG": str(workdir / "none.toml"),
        "TOLLHOUSE_DATABASE_URL": f"sqlite:///{db}",
        "TOLLHOUSE_SPOOL_DIR": str(workdir / f"spool-{name}"),
        "TOLLHOUSE_METERING_MODE": "fast" if name.endswith("fast") else "strict",
    }
    if name.endswith("redis"):
        env["TOLLHOUSE_LIMITS_URL"] = REDIS_URL
        env["TOLLHOUSE_LIMITS_KEY_PREFIX"] = f"bench-gateway:{uuid.uuid4().hex}:"
    argv = [str(BIN / "tollhouse"), "serve", "--port", str(port), "--server", server]
    return Server(name, argv, env, port)


def nginx_server(port: int, workdir: Path, body: bytes) -> Server | None:
    nginx = shutil.which("nginx") or apt_install("nginx-light", "nginx")
    if nginx is None:
        print("nginx: not installed and apt-get could not install it; skipping that peer")
        return None
    prefix = workdir / "nginx"
    prefix.mkdir(exist_ok=True)
    prefix.chmod(0o755)
    workdir.chmod(0o755)
    (prefix / "body.json").write_bytes(body)
    template = (Path(__file__).parent / "gateway_peers" / "nginx.conf").read_text()
    conf = prefix / "nginx.conf"
    conf.write_text(template.replace("{prefix}", str(prefix)).replace("{port}", str(port)))
    return Server("nginx", [nginx, "-p", str(prefix), "-c", str(conf)], {}, port)


def apt_install(package: str, binary: str) -> str | None:
    """Install a Debian package quietly (we run as root on the bench box); the binary's path."""
    if shutil.which("apt-get") is None:
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (["apt-get", "install", "-y", "-qq", package],):
        result = subprocess.run(argv, env=env, capture_output=True, check=False)
        if result.returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, check=False)
            subprocess.run(argv, env=env, capture_output=True, check=False)
    return shutil.which(binary)


def fetch(url: str, token: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def wait_ready(server: Server, url: str, token: str, timeout: float = 90.0) -> bytes:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.process is not None
        if server.process.poll() is not None:
            raise SystemExit(f"{server.name} exited; see {server.log}")
        with contextlib.suppress(OSError):
            status, _headers, body = fetch(url, token)
            if status == 200:
                return body
            raise SystemExit(f"{server.name} answered {status}: {body[:300]!r}")
        time.sleep(0.2)
    raise SystemExit(f"{server.name} did not start within {timeout:.0f} s; see {server.log}")


# -- load --------------------------------------------------------------------------------------


@dataclass
class Run:
    peer: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_us: float = 0.0  # server CPU time (all its threads and processes) per request
    requests: int = 0  # answered during the run


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of `pid` and its descendants (all threads), in seconds.

    Unlike requests/s this hardly moves when other work shares the machine, so it is printed
    next to the throughput as the steadier measure of what a request costs."""
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / _TICK
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pending.extend(int(c) for c in children)
    return total


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def wrk_run(wrk: str, peer: str, url: str, token: str, seconds: float) -> Run:
    argv = [
        "taskset", "-c", CLIENT_CORE, wrk, "-t1", f"-c{CONNECTIONS}", f"-d{seconds:g}s",
        "--latency", "--timeout", "10s", "-H", f"Authorization: Bearer {token}", url,
    ]  # fmt: skip
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    # The distribution lines only ("  99%  12.34ms"): the thread stats end in percentages too.
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    errors = int(bad.group(1)) if bad else 0
    done = re.search(r"(\d+) requests in", out)
    if socket_errors:
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    return Run(peer, rps, p50, p99, errors, requests=int(done.group(1)) if done else 0)


def _client(url: str, token: str) -> tuple[str, int, bytes]:
    """Pin this process to the client core; (host, port, the raw keep-alive request)."""
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {int(CLIENT_CORE)})
    parsed = urllib.parse.urlsplit(url)
    host = parsed.hostname or "127.0.0.1"
    request = (
        f"GET {parsed.path}?{parsed.query} HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {token}\r\n\r\n"
    ).encode()
    return host, parsed.port or 80, request


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> bool:
    """One request on a keep-alive connection, its whole body read; whether it was a 200."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
    await reader.readexactly(length)
    return head.startswith(b"HTTP/1.1 200")


def _p50_p99_ms(latencies: list[float]) -> tuple[float, float]:
    latencies = sorted(latencies)
    n = len(latencies)
    return latencies[n // 2] * 1000, latencies[min(n - 1, n * 99 // 100)] * 1000


async def _python_load(host: str, port: int, request: bytes, seconds: float) -> Run:
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds

    async def connection() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port)
        while time.perf_counter() < stop_at:
            began = time.perf_counter()
            ok = await _exchange(reader, writer, request)
            latencies.append(time.perf_counter() - began)
            errors += not ok
        writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(CONNECTIONS)))
    elapsed = time.perf_counter() - began
    p50, p99 = _p50_p99_ms(latencies)
    return Run("", len(latencies) / elapsed, p50, p99, errors, requests=len(latencies))


def python_run(peer: str, url: str, token: str, seconds: float) -> Run:
    run = asyncio.run(_python_load(*_client(url, token), seconds))
    run.peer = peer
    return run


@dataclass
class LatencyRun:
    """One peer at a fixed offered rate (open loop): latencies from the scheduled send times."""

    peer: str
    rate: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int


async def _open_loop(
    host: str, port: int, request: bytes, rate: float, seconds: float
) -> tuple[list[float], int]:
    """Send one request every 1/`rate` s for `seconds` over a pool of CONNECTIONS keep-alive
    connections; each latency runs from the request's scheduled time to its last body byte, so
    time spent waiting for a free connection (the server being behind) counts too."""
    loop = asyncio.get_running_loop()
    idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(CONNECTIONS):
        idle.put_nowait(await asyncio.open_connection(host, port))
    latencies: list[float] = []
    errors = 0

    async def one(scheduled: float) -> None:
        nonlocal errors
        reader, writer = await idle.get()
        ok = await _exchange(reader, writer, request)
        latencies.append(loop.time() - scheduled)
        errors += not ok
        idle.put_nowait((reader, writer))

    start = loop.time() + 0.05
    in_flight = []
    for i in range(int(rate * seconds)):
        scheduled = start + i / rate
        if (delay := scheduled - loop.time()) > 0:
            await asyncio.sleep(delay)
        in_flight.append(asyncio.ensure_future(one(scheduled)))
    await asyncio.gather(*in_flight)
    while not idle.empty():
        idle.get_nowait()[1].close()
    return latencies, errors


def open_loop_run(peer: str, url: str, token: str, rate: float, seconds: float) -> LatencyRun:
    latencies, errors = asyncio.run(_open_loop(*_client(url, token), rate, seconds))
    p50, p99 = _p50_p99_ms(latencies)
    return LatencyRun(peer, rate, p50, p99, errors, len(latencies))


# -- the run -----------------------------------------------------------------------------------


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}"


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


@contextlib.contextmanager
def running(servers: list[Server], workdir: Path) -> Iterator[None]:
    try:
        for server in servers:
            server.start(workdir)
        yield
    finally:
        for server in servers:
            server.stop()


def summary(runs: list[Run], peers: list[str]) -> dict[str, tuple[float, float, float, float]]:
    out = {}
    for peer in peers:
        mine = [r for r in runs if r.peer == peer]
        out[peer] = (
            statistics.median(r.rps for r in mine),
            statistics.median(r.p50_ms for r in mine),
            statistics.median(r.p99_ms for r in mine),
            statistics.median(r.cpu_us for r in mine),
        )
    return out


def round_ratios(runs: list[Run], rounds: int, a: str, b: str) -> tuple[float, float, float] | None:
    """Median over rounds of (a rps / b rps), of (a p99 - b p99) and of (b cpu / a cpu), each
    within one round."""
    by_round: list[dict[str, Run]] = [{} for _ in range(rounds)]
    per = len(runs) // rounds
    for i, run in enumerate(runs):
        by_round[i // per][run.peer] = run
    pairs = [(r[a], r[b]) for r in by_round if a in r and b in r]
    if not pairs:
        return None
    return (
        statistics.median(x.rps / y.rps for x, y in pairs),
        statistics.median(x.p99_ms - y.p99_ms for x, y in pairs),
        statistics.median(y.cpu_us / x.cpu_us for x, y in pairs),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds of 3 s, small corpus")
    parser.add_argument("--server", choices=("uvicorn", "granian", "both"), default="uvicorn")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--posts", type=int)
    parser.add_argument("--peers", default=",".join(PEERS))
    parser.add_argument("--python-load", action="store_true", help="skip wrk")
    parser.add_argument(
        "--equal-load-share",
        type=float,
        default=0.5,
        help="offered rate of the equal-load runs, as a share of bare's saturated req/s (0: skip)",
    )
    args = parser.parse_args()
    rounds = args.rounds or (2 if args.quick else 4)
    seconds = args.seconds or (3.0 if args.quick else 8.0)
    posts = args.posts or (5_000 if args.quick else 50_000)
    wanted = [p for p in args.peers.split(",") if p]
    unknown = set(wanted) - set(PEERS)
    if unknown:
        parser.error(f"unknown peers: {sorted(unknown)}")
    if (os.cpu_count() or 1) < 2:
        raise SystemExit("needs 2 cores: one for the servers, one for the load generator")
    wrk = None if args.python_load else (shutil.which("wrk") or apt_install("wrk", "wrk"))
    now = datetime.now(UTC)
    print(f"machine: {machine()}; load average {load_average()}; {now:%Y-%m-%d %H:%M} UTC")
    print(f"command: {' '.join(['bench/gateway.py', *sys.argv[1:]])}")
    generator = "wrk -t1 -c64" if wrk else "Python asyncio load generator (no wrk), 64 connections"
    print(f"load: {generator}, servers on core {SERVER_CORE}, load generator on core {CLIENT_CORE}")

    servers_to_try = ("uvicorn", "granian") if args.server == "both" else (args.server,)
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as tmp:
        workdir = Path(tmp)
        began = time.perf_counter()
        db, token, ids = prepare(workdir, posts)
        print(f"corpus: {posts} posts generated in {time.perf_counter() - began:.1f} s; {db}")
        target = f"/2/tweets?ids={','.join(map(str, ids))}&tweet.fields={FIELDS}"

        servers: list[Server] = []
        labels: list[str] = []
        for server_kind in servers_to_try:
            suffix = "" if len(servers_to_try) == 1 else f"@{server_kind}"
            for peer in wanted:
                name = peer + suffix
                port = free_port()
                if peer.startswith("bare"):
                    target_app = "inline_app" if peer == "bare-inline" else "app"
                    env = {"BENCH_DB": str(db)}
                    module = f"bench.gateway_peers.bare:{target_app}"
                    servers.append(python_server(name, module, server_kind, port, env))
                elif peer.startswith("tollhouse"):
                    servers.append(tollhouse_server(name, server_kind, port, db, workdir))
                elif peer.startswith("diy"):
                    env = {"BENCH_DB": str(db), "BENCH_TOKEN": token}
                    module = f"bench.gateway_peers.{peer.replace('-', '_')}:app"
                    servers.append(python_server(name, module, server_kind, port, env))
                elif peer == "nginx" and not suffix.endswith("granian"):
                    continue  # added below, once, with the floor's bytes
                else:
                    continue
                labels.append(name)

        with running(servers, workdir):
            bodies = {}
            for server in servers:
                bodies[server.name] = wait_ready(
                    server, f"http://127.0.0.1:{server.port}{target}", token
                )
            reference = (
                next(b for n, b in bodies.items() if n.startswith("bare"))
                if any(n.startswith("bare") for n in bodies)
                else None
            )
            for name, body in bodies.items():
                if reference is None:
                    break
                if orjson.loads(body) != orjson.loads(reference):
                    raise SystemExit(f"{name} does not answer what bare answers")
                same = "same bytes" if body == reference else "same JSON"
                print(f"  {name}: {len(body)} bytes, {same} as bare")
            if "nginx" in wanted and reference is not None:
                nginx = nginx_server(free_port(), workdir, reference)
                if nginx is not None:
                    nginx.start(workdir)
                    servers.append(nginx)
                    labels.append("nginx")
                    wait_ready(nginx, f"http://127.0.0.1:{nginx.port}{target}", token)
            # Check the licensed path really ran: limit headers on the response.
            for server in servers:
                if server.name.startswith("tollhouse"):
                    _status, headers, _ = fetch(f"http://127.0.0.1:{server.port}{target}", token)
                    lowered = {k.lower() for k in headers}
                    assert "x-rate-limit-remaining" in lowered and "x-request-id" in lowered

            runs: list[Run] = []
            by_name = {s.name: s for s in servers}
            answered = 0  # 200s from the Tollhouse peers, each of which must have its event
            for name in labels:  # warm-up: caches, JIT-free but allocator and page cache
                url = f"http://127.0.0.1:{by_name[name].port}{target}"
                warm = wrk_run(wrk, name, url, token, 1) if wrk else python_run(name, url, token, 1)
                if name.startswith("tollhouse"):
                    answered += warm.requests - warm.errors
            for r in range(rounds):
                for name in labels:
                    url = f"http://127.0.0.1:{by_name[name].port}{target}"
                    pid = by_name[name].process.pid  # type: ignore[union-attr]
                    cpu_before = cpu_seconds(pid)
                    run = (
                        wrk_run(wrk, name, url, token, seconds)
                        if wrk
                        else python_run(name, url, token, seconds)
                    )
                    if run.rps == 0:  # not one answer in the whole run: say so, do not divide
                        log = by_name[name].log
                        tail = log.read_text(errors="replace")[-2000:] if log else ""
                        raise SystemExit(
                            f"{name} answered nothing in {seconds:g} s; its log:\n{tail}"
                        )
                    run.cpu_us = (cpu_seconds(pid) - cpu_before) / (run.rps * seconds) * 1e6
                    runs.append(run)
                    if name.startswith("tollhouse"):
                        answered += run.requests - run.errors
                    print(round_line(r, name, run.rps, run.p50_ms, run.p99_ms, run.errors,
                                     f"  cpu {run.cpu_us:6.0f} µs/req"))  # fmt: skip
            latency_runs: list[LatencyRun] = []
            if args.equal_load_share > 0:
                floor = next((n for n in labels if n.startswith("bare")), labels[0])
                rate = args.equal_load_share * statistics.median(
                    r.rps for r in runs if r.peer == floor
                )
                share = args.equal_load_share
                print(f"equal load: {rate:.0f} req/s to every peer, open loop ({share:g} of "
                      f"{floor}'s saturated req/s)")  # fmt: skip
                # A peer that cannot sustain the rate only queues without bound (diy at 5 times its
                # capacity took 30 s per round to drain): its latency at this load is not a number.
                sustained = [
                    n
                    for n in labels
                    if statistics.median(r.rps for r in runs if r.peer == n) >= 1.2 * rate
                ]
                skipped = sorted(set(labels) - set(sustained))
                if skipped:
                    print(f"  not offered (saturated req/s below 1.2 times the rate): {skipped}")
                for r in range(rounds):
                    for name in sustained:
                        url = f"http://127.0.0.1:{by_name[name].port}{target}"
                        lat = open_loop_run(name, url, token, rate, seconds)
                        latency_runs.append(lat)
                        if name.startswith("tollhouse"):
                            answered += lat.requests - lat.errors
                        print(round_line(r, name, rate, lat.p50_ms, lat.p99_ms, lat.errors))
        # The servers have stopped (draining their spools): strict metering recorded every
        # answered request, or the run does not count.
        if any(name.startswith("tollhouse") for name in labels):
            engine = create_engine(usage_database_url(f"sqlite:///{db}"))
            with engine.connect() as conn:
                stored = conn.exec_driver_sql(
                    "SELECT COUNT(*) FROM usage_events"
                    " WHERE endpoint = '/2/tweets' AND status = 200"
                ).scalar_one()
            engine.dispose()
            print(f"usage events stored: {stored} for {answered} answered (plus checks)")
            if stored < answered:
                raise SystemExit("strict metering lost usage events: the run does not count")
        report(runs, latency_runs, labels, rounds, servers_to_try)
    print(f"load average after: {load_average()}")


def round_line(
    r: int, name: str, rps: float, p50_ms: float, p99_ms: float, errors: int, extra: str = ""
) -> str:
    """One peer's line in one round, for either phase."""
    return (
        f"  round {r + 1} {name:<24} {rps:9.0f} req/s  p50 {p50_ms:7.2f} ms  p99 {p99_ms:7.2f} ms"
        + extra
        + (f"  ERRORS {errors}" if errors else "")
    )


def equal_load_delta(runs: list[LatencyRun], a: str, b: str) -> float | None:
    """Median over rounds of (a p99 - b p99) at the same offered rate, within one round."""
    mine = [run for run in runs if run.peer == a]
    theirs = [run for run in runs if run.peer == b]
    deltas = [x.p99_ms - y.p99_ms for x, y in zip(mine, theirs, strict=False)]  # round by round
    return statistics.median(deltas) if deltas else None


def report(
    runs: list[Run],
    latency_runs: list[LatencyRun],
    labels: list[str],
    rounds: int,
    kinds: tuple[str, ...],
) -> None:
    table = summary(runs, labels)
    print()
    print(f"Medians of {rounds} rounds; CPU = server CPU time (all threads) per request.")
    print()
    print("Saturated (closed loop, 64 connections):")
    print()
    print("| peer | req/s | p50 ms | p99 ms | CPU µs/req |")
    print("|---|---|---|---|---|")
    for name in labels:
        rps, p50, p99, cpu = table[name]
        print(f"| {name} | {rps:.0f} | {p50:.2f} | {p99:.2f} | {cpu:.0f} |")
    if latency_runs:
        print()
        print(f"Equal load (open loop, {latency_runs[0].rate:.0f} req/s offered to each):")
        print()
        print("| peer | p50 ms | p99 ms | errors |")
        print("|---|---|---|---|")
        for name in labels:
            mine = [r for r in latency_runs if r.peer == name]
            if not mine:
                print(f"| {name} | — | — | (cannot sustain the rate) |")
                continue
            p50 = statistics.median(r.p50_ms for r in mine)
            p99 = statistics.median(r.p99_ms for r in mine)
            print(f"| {name} | {p50:.2f} | {p99:.2f} | {sum(r.errors for r in mine)} |")
    print()
    print(
        "| ratio (median of per-round ratios) | req/s | saturated p99 Δ ms | equal-load p99 Δ ms "
        "| by CPU/req | target | |"
    )
    print("|---|---|---|---|---|---|---|")
    for kind in kinds:
        sfx = "" if len(kinds) == 1 else f"@{kind}"
        # (a, b, target text, the check on (req/s ratio, equal-load p99 delta ms), or None)
        checks: list[tuple[str, str, str, Callable[[float, float | None], bool] | None]] = [
            (f"tollhouse{sfx}", f"bare{sfx}", "≥ 0.80 req/s, p99 ≤ bare + 1 ms at equal load",
             lambda r, d: r >= 0.8 and d is not None and d <= 1.0),
            (f"tollhouse-redis{sfx}", f"bare{sfx}", "≥ 0.60", lambda r, d: r >= 0.6),
            (f"tollhouse{sfx}", f"diy{sfx}", "≥ 3.0", lambda r, d: r >= 3.0),
            (f"tollhouse{sfx}", f"diy-lean{sfx}", "(no target: the leanest DIY)", None),
            (f"tollhouse{sfx}", f"bare-inline{sfx}", "(no target: the lowest floor)", None),
            (f"tollhouse-redis{sfx}", f"tollhouse{sfx}", "(what Redis limits cost)", None),
            (f"tollhouse-fast{sfx}", f"bare{sfx}", "(no target: metering without the fsync)",
             None),
            ("nginx", f"tollhouse{sfx}", "(the C ceiling)", None),
        ]  # fmt: skip
        for a, b, target, met in checks:
            got = round_ratios(runs, rounds, a, b)
            if got is not None:
                ratio, p99_delta, by_cpu = got
                equal = equal_load_delta(latency_runs, a, b)
                equal_text = "" if equal is None else f"{equal:+.2f}"
                verdict = "" if met is None else ("met" if met(ratio, equal) else "NOT met")
                print(
                    f"| {a} / {b} | {ratio:.3f} | {p99_delta:+.2f} | {equal_text} | {by_cpu:.3f} "
                    f"| {target} | {verdict} |"
                )


if __name__ == "__main__":
    main()
