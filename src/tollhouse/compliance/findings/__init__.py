"""Findings: the developer agreement's rules evaluated over the platform's own records.

Owns the rules (one module each under `rules/`), their parameters (`rules.toml`, overridable),
the finding (grade, clause in force, evidence a licensee can check), its natural key and
lifecycle (open → acknowledged → resolved | dismissed; superseded when the data no longer
holds), and evaluation runs. Reads usage, deliveries, obligations and licensees through the
Protocols in `sources.py`; does not own those records, nor how findings are rendered.
"""
