"""Tollhouse: license a platform's posts through an X-API-v2-compatible API.

Domains live in sub-packages (corpus, access, limits, metering, streams); `api` is the HTTP edge,
`cli` the `tollhouse` command, `migrations` the schema history. The import layers between them
are pyproject's import-linter contract.
"""

__version__ = "0.1.0"
