"""The `tollhouse` command: serve, demo, db, corpus, orgs/apps/keys, usage, invoice, audit.

Owns argument parsing and output (rich tables or `--json`); does not own business rules.
"""
