"""The corpus: the platform's posts and users, their ids, the search query language, importers
and the synthetic generator.

Owns what the data is and how to find it; does not own who may read it (that is `access`).
"""
