"""Datasets: the stored resource and its list."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from service.schemas.common import DatasetSpec

__all__ = ["DatasetOut", "DatasetPage"]


class DatasetOut(BaseModel):
    """A stored dataset; `sequences` and `targets` only with `?include=data`."""

    id: str = Field(description="Use it as `dataset_id`.", examples=["g-3f7c2a9e0b1d4c6e8a5f"])
    kind: Literal["generated", "uploaded"] = Field(
        description="`generated` from a spec (regenerated on demand) or `uploaded` sequences."
    )
    n_samples: int = Field(description="Number of sequences.", examples=[20])
    min_length: int = Field(description="Shortest sequence.", examples=[10])
    max_length: int = Field(description="Longest sequence.", examples=[10])
    is_binary: bool = Field(description="Whether every input is 0 or 1.")
    created_at: str = Field(description="When it was first stored (ISO 8601, UTC).")
    spec: DatasetSpec | None = Field(
        default=None, description="The generation spec (generated only)."
    )
    sequences: list[list[float]] | None = Field(
        default=None, description="The sequences, unpadded (with `?include=data`)."
    )
    targets: list[float] | None = Field(
        default=None, description="The targets (with `?include=data`)."
    )


class DatasetPage(BaseModel):
    """A page of stored datasets, oldest first."""

    items: list[DatasetOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )
