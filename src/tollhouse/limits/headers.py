"""Response headers: X's `x-rate-limit-*`, IETF `RateLimit-Policy`/`RateLimit`, `Retry-After`.

X reports one window in `x-rate-limit-*`; we report the one that binds: on a window 429 the
full window that frees last, on a cap 429 the cap (reset = start of the next billing month), on
success the window with the fewest requests left. tweepy sleeps until `x-rate-limit-reset`; twarc
reads `x-rate-limit-remaining` and `x-rate-limit-reset` on every 429 and sleeps ~10 s if
remaining is not 0, so every 429 says remaining 0 and a reset in the future.

IETF draft-ietf-httpapi-ratelimit-headers (-09 and later) syntax, one item per window:
`RateLimit-Policy: "15m";q=450;w=900, "24h";q=10000;w=86400` and
`RateLimit: "15m";r=449;t=512, "24h";r=9999;t=40112` (t: seconds to reset).
"""

from __future__ import annotations

from tollhouse.limits.decisions import Decision, WindowState


def policy_name(window_seconds: int) -> str:
    """A short readable name of a window: 900 → "15m", 86400 → "24h", 3 → "3s"."""
    if window_seconds % 3600 == 0:
        return f"{window_seconds // 3600}h"
    if window_seconds % 60 == 0:
        return f"{window_seconds // 60}m"
    return f"{window_seconds}s"


def binding_window(decision: Decision) -> WindowState | None:
    """The window to report in x-rate-limit-* (see module docstring)."""
    if not decision.windows:
        return None
    if decision.refusal == "window":
        full = [w for w in decision.windows if w.remaining == 0]
        return max(full, key=lambda w: w.reset)
    return min(decision.windows, key=lambda w: (w.remaining, w.window_seconds))


def limit_headers(decision: Decision) -> list[tuple[str, str]]:
    """Every limit header of a metered response for `decision` (none if it was not checked)."""
    if not decision.checked:
        return []
    out: list[tuple[str, str]] = []
    now = decision.now
    window = binding_window(decision)
    cap = decision.cap
    if decision.refusal == "cap" and cap is not None and cap.cap is not None:
        out += _x_headers(cap.cap, 0, cap.period_end)
        out.append(("retry-after", str(max(1, cap.period_end - now))))
    elif decision.refusal == "cap_pending":
        # Requests in flight hold the rest of the cap; their counts land within a second or so.
        out += _x_headers(window.limit if window else (cap.cap if cap else 0) or 0, 0, now + 1)
        out.append(("retry-after", "1"))
    elif window is not None:
        out += _x_headers(window.limit, window.remaining, window.reset)
        if decision.refusal == "window":
            out.append(("retry-after", str(max(1, window.reset - now))))
    elif cap is not None and cap.cap is not None:
        out += _x_headers(cap.cap, max(0, cap.cap - cap.used), cap.period_end)
    if decision.windows:
        out.append(
            (
                "ratelimit-policy",
                ", ".join(
                    f'"{policy_name(w.window_seconds)}";q={w.limit};w={w.window_seconds}'
                    for w in decision.windows
                ),
            )
        )
        out.append(
            (
                "ratelimit",
                ", ".join(
                    f'"{policy_name(w.window_seconds)}";r={w.remaining};t={max(0, w.reset - now)}'
                    for w in decision.windows
                ),
            )
        )
    return out


def _x_headers(limit: int, remaining: int, reset: int) -> list[tuple[str, str]]:
    return [
        ("x-rate-limit-limit", str(limit)),
        ("x-rate-limit-remaining", str(remaining)),
        ("x-rate-limit-reset", str(reset)),
    ]
