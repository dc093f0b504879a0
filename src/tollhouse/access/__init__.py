"""Access: organisations (licensees), apps, keys (stored hashed), plans, the developer agreement
and its acceptances, declared use cases and end users, and the append-only admin audit trail.

Owns who may call which endpoint; does not own usage counts (metering), prices charged
(billing) or rate windows (limits — they read `Plan.rate_limits`).
"""
