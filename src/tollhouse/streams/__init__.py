"""streams: filtered-stream rules, the rule index and matching, the sample stream, the fan-out hub
and live post ingest.

Owns the rule table, the bus that carries live posts between gateway processes, and the per-process
hub that delivers them to connected clients. Does not own the storage of posts (corpus), who may
connect (access, at the edge) or how deliveries are counted (limits, metering).
"""
