"""Metering: the usage event of every metered request, its durable recording (recorder.py's
in-memory buffer → fsynced local spool.py → spool_drainer.py → sql_store.py, idempotent by
request id), hourly rollups, per-day distinct-post sketches and the usage queries built on them.

Owns what was used; does not own what it costs (billing) or whether it was allowed (access,
limits).
"""
