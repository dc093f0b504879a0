"""Tests of tollhouse.api."""
