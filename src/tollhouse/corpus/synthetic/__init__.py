"""Synthetic corpora: the generator, its spec, made-up users and posts, their vocabulary, and the
bulk writers and process frames that only the generator uses.

Owns making a deterministic, realistic corpus fast; does not own what a post or user is
(`corpus.records`, `corpus.models`) or the general write path (`corpus.store`).
"""
