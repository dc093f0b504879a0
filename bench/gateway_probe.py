"""One gateway peer at a fixed offered rate, round after round: where its latency comes from.

`make bench-gateway` compares every peer at once; this probes one configuration at a time, for
A/B questions such as "what do the usage store's commits cost the lookups" or "what does strict
metering add". It builds the same corpus and licensee as bench/gateway.py, starts the peer pinned
to the server core, and drives it with the same open loop (latency from each request's scheduled
send time), printing per round p50, p99, the server's CPU per request (user and system) and
its resident memory, and the CPU its child processes (the usage store) used per request.

    .venv/bin/python bench/gateway_probe.py tollhouse --rate 220 --rounds 4 \\
        TOLLHOUSE_METERING_MODE=fast TOLLHOUSE_USAGE_DATABASE_URL=sqlite:///{db}

`KEY=VALUE` arguments are added to a tollhouse peer's environment; `{db}` stands for the corpus
file (so the line above puts the usage tables back into it, as before they had a file of their
own).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import gateway


def _user_system_ticks(pid: int) -> tuple[int, int]:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])


def _context_switches(pid: int) -> int:
    """Voluntary and involuntary context switches of all the process's threads so far."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            lines = (task / "status").read_text().splitlines()
        except FileNotFoundError:  # the thread has exited
            continue
        total += sum(int(line.split()[1]) for line in lines if "ctxt_switches" in line)
    return total


def _children(pid: int) -> list[str]:
    """The server's child processes (the usage store); any of its threads may have started
    them (the writer starts from a worker thread)."""
    return [
        child
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]


def _cpu_ticks(pids: list[str]) -> int:
    """User + system ticks of `pids` so far (one that has exited counts nothing)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(FileNotFoundError):
            total += sum(_user_system_ticks(int(pid)))
    return total


def _rss_mb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("peer", choices=("bare", "bare-inline", "tollhouse", "tollhouse-redis"))
    parser.add_argument("--rate", type=float, default=200.0, help="offered requests/s")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--posts", type=int, default=50_000)
    parser.add_argument(
        "--store-core", help="move the usage store process to this core (default: the server's)"
    )
    parser.add_argument("env", nargs="*", metavar="KEY=VALUE")
    args = parser.parse_intermixed_args()
    tick = os.sysconf("SC_CLK_TCK")
    print(f"machine: {gateway.machine()}; load average {gateway.load_average()}")
    with tempfile.TemporaryDirectory(prefix="bench-probe-") as tmp:
        workdir = Path(tmp)
        db, token, ids = gateway.prepare(workdir, args.posts)
        target = f"/2/tweets?ids={','.join(map(str, ids))}&tweet.fields={gateway.FIELDS}"
        port = gateway.free_port()
        if args.peer.startswith("bare"):
            env = {"BENCH_DB": str(db)}
            app = "inline_app" if args.peer == "bare-inline" else "app"
            server = gateway.python_server(
                args.peer, f"bench.gateway_peers.bare:{app}", "uvicorn", port, env
            )
        else:
            server = gateway.tollhouse_server(args.peer, "uvicorn", port, db, workdir)
            for pair in args.env:
                key, _, value = pair.partition("=")
                server.env[key] = value.replace("{db}", str(db))
        print(f"peer {args.peer} {' '.join(args.env)}; {args.rate:.0f} req/s offered")
        with gateway.running([server], workdir):
            url = f"http://127.0.0.1:{port}{target}"
            gateway.wait_ready(server, url, token)
            assert server.process is not None
            pid = server.process.pid
            children = _children(pid)
            if args.store_core is not None:
                for child in children:
                    os.sched_setaffinity(int(child), {int(args.store_core)})
                print(f"  store process(es) {children} moved to core {args.store_core}")
            for r in range(args.rounds):
                user0, system0 = _user_system_ticks(pid)
                switches0 = _context_switches(pid)
                store0 = _cpu_ticks(children)
                run = gateway.open_loop_run(args.peer, url, token, args.rate, args.seconds)
                user1, system1 = _user_system_ticks(pid)
                switches = _context_switches(pid) - switches0
                store = _cpu_ticks(children) - store0
                n = max(run.requests, 1)
                print(
                    f"  round {r + 1}: p50 {run.p50_ms:7.2f} ms  p99 {run.p99_ms:7.2f} ms"
                    f"  cpu {(user1 - user0) / tick / n * 1e6:5.0f} user"
                    f" + {(system1 - system0) / tick / n * 1e6:4.0f} system µs/req"
                    f"  {switches / n:4.1f} switches/req  rss {_rss_mb(pid)} MB"
                    + (f"  store {store / tick / n * 1e6:4.0f} µs/req" if children else "")
                    + (f"  ERRORS {run.errors}" if run.errors else ""),
                    flush=True,
                )


if __name__ == "__main__":
    main()
