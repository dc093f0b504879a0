"""Compliance: enforcing the developer agreement from the platform's own records.

Owns content events and deletion obligations, batch compliance jobs, holdings queries, rules →
findings with evidence (`compliance.findings`) and attestations. Reads access, metering and
streams; does not own the usage records, the agreement text or how findings are rendered.
"""
