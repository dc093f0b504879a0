"""Tests of tollhouse.api.routes.admin."""
