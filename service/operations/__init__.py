"""Liveness and readiness (/health, /ready)."""
