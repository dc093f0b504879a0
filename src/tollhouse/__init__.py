"""Tollhouse: license a platform's posts through an X-API-v2-compatible API.

Domains live in sub-packages (corpus, access, limits, metering, billing, compliance, reports,
streams); `api` is the HTTP edge and `cli` the `tollhouse` command.
"""

__version__ = "0.1.0"
