"""Peers of bench/gateway.py: the apps and configs the Tollhouse gateway is measured against."""
