"""The edge's steps around the `/2/` routes, one a module: limits (admit before the handler,
count after it) and metering (request ids and usage events, outside authentication).

Owns how the limits and metering domains meet HTTP (scope keys, headers, Problem replies); the
decisions themselves stay in `tollhouse.limits` and `tollhouse.metering`.
"""
