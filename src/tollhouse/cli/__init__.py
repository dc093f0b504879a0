"""The `tollhouse` command: db, corpus, serve, orgs, apps, keys, endusers, plans, agreements,
usage, demo.

Owns argument parsing and output (rich tables or `--json`); does not own business rules.
"""
