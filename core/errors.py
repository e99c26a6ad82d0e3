"""The errors core raises: one hierarchy, so callers translate them in one place."""

from __future__ import annotations

__all__ = ["InvalidInputError", "RnnlabError"]


class RnnlabError(Exception):
    """Base of every error raised on purpose by rnnlab's core."""


class InvalidInputError(RnnlabError, ValueError):
    """An argument is out of its domain; ``field`` names it the way a client spelled it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
