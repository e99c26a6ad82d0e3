"""Instant runs: short training runs computed in the request (POST /runs)."""
