"""Predictions of the network for new sequences (/predict)."""
