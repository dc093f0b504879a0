"""The corpus: the platform's posts and users, their ids, the search query language, importers;
the synthetic generator lives in `corpus.synthetic`.

Owns what the data is and how to find it; does not own who may read it (that is `access`).
"""
