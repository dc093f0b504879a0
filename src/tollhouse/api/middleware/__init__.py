"""The edge's steps around the `/2/` routes, one a module: limits (admit before the handler,
count after it), metering (request ids and usage events, outside authentication) and the body
cap (`body_limit`, per route, on the admin API too).

Owns how the limits and metering domains meet HTTP (scope keys, headers, Problem replies); the
decisions themselves stay in `tollhouse.limits` and `tollhouse.metering`.
"""
