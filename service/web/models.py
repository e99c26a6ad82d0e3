"""The base of every request model: strict types, unknown fields refused, finite floats.

Request models are strict (``false`` is not an int, ``"1"`` is not a number) and forbid
unknown fields, so typos fail loudly; floats must be finite (NaN, Infinity and numbers
that overflow a double are 422).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["FiniteFloat", "RequestModel"]

FiniteFloat = Annotated[float, Field(allow_inf_nan=False, strict=True)]
"""A JSON number that is a finite double (ints are accepted, booleans and strings are not)."""


class RequestModel(BaseModel):
    """Base of request bodies: strict types, unknown fields rejected."""

    model_config = ConfigDict(strict=True, extra="forbid")
