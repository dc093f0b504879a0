"""Tests of tollhouse.corpus.synthetic."""
