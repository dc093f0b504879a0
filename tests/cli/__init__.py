"""Tests of tollhouse.cli: the commands as an operator runs them."""
