"""Tests of tollhouse.corpus."""
