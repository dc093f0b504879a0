"""The three Lua scripts of the Redis backend (lua/*.lua): `ADMIT` before the handler, `COUNT`
after it, `USAGE` for /2/usage/tweets.

Why scripts and not `limits`' Redis storage: `limits` makes one round trip per window per
operation (hit, then get_window_stats for headers), cannot refuse on window B without having
consumed window A, and knows nothing of caps or dedupe. Here every decision of a request runs in
one EVALSHA, atomically, on Redis's clock (`TIME`), so N gateway hosts with skewed clocks agree.

Keys are derived inside the scripts from Redis's time (window index, UTC day, billing month), so
they cannot be declared in KEYS up front. That is fine on one Redis primary (with replicas); it
is not Redis Cluster safe.

Billing months are calendar math, which Lua does badly; the caller passes the months before,
holding and after its own clock's now, and the script picks the one holding Redis's now.
"""

from __future__ import annotations

from importlib import resources


def _load(name: str) -> str:
    return (resources.files(__package__) / "lua" / f"{name}.lua").read_text(encoding="utf-8")


# Each file starts with its ARGV and return layout.
ADMIT = _load("admit")
COUNT = _load("count")
USAGE = _load("usage")
