"""Datasets: how a request names one (an id, a spec, the sequences), the stored resource.

Every endpoint that needs data takes a ``DatasetRef``: a stored ``dataset_id``, an inline
``dataset`` (a ``DatasetSpec`` to generate or ``DatasetData`` sequences), or neither (the
tutorial's dataset).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Discriminator, Field, Tag, model_validator

from service.web.arrays import FloatRows, Floats
from service.web.models import RequestModel, ResponseModel, at_most_one, limited_by, missing

MAX_SAFE_INTEGER = 2**53 - 1  # the largest integer a JSON number carries exactly everywhere

__all__ = [
    "DatasetData",
    "DatasetId",
    "DatasetOut",
    "DatasetPage",
    "DatasetRef",
    "DatasetSource",
    "DatasetSpec",
]

DatasetId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        description="Id of a dataset created with `POST /datasets`.",
        examples=["g-3f7c2a9e0b1d4c6e8a5f"],
    ),
]


class DatasetSpec(RequestModel):
    """A generated dataset: random binary sequences whose targets are their counts of ones.

    Deterministic: the same spec always gives the same dataset. Give either `length`,
    or `min_length` and `max_length` for variable lengths.
    """

    schema_rules = (
        at_most_one("length", "min_length"),
        at_most_one("length", "max_length"),
        {
            "not": {
                "allOf": [
                    missing("length"),
                    {"anyOf": [missing("min_length"), missing("max_length")]},
                ]
            }
        },
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"n_samples": 20, "length": 10, "seed": 1, "generator": "legacy"},
                {"n_samples": 1000, "min_length": 5, "max_length": 50, "seed": 7},
            ]
        }
    )

    n_samples: int = Field(
        ge=1,
        description="Number of sequences.",
        examples=[20],
        json_schema_extra=limited_by("max_samples"),
    )
    length: int | None = Field(
        default=None,
        ge=1,
        description="Steps of every sequence (or use min/max_length).",
        examples=[10],
        json_schema_extra=limited_by("max_length"),
    )
    min_length: int | None = Field(
        default=None,
        ge=1,
        description="Shortest sequence (variable lengths).",
        json_schema_extra=limited_by("max_length"),
    )
    max_length: int | None = Field(
        default=None,
        ge=1,
        description="Longest sequence (variable lengths).",
        json_schema_extra=limited_by("max_length"),
    )
    seed: int = Field(
        default=0,
        ge=0,
        le=MAX_SAFE_INTEGER,
        description=(
            "Random seed, at most 2**53 - 1 (an integer every JSON client sends exactly); "
            "the legacy generator takes seeds < 2**32."
        ),
        examples=[1],
    )
    p_one: float = Field(
        default=0.5,
        gt=0.0,
        lt=1.0,
        allow_inf_nan=False,
        description="Probability of a one at each step.",
    )
    generator: Literal["pcg64", "legacy"] = Field(
        default="pcg64",
        description=(
            "`pcg64`: NumPy's default Generator; `legacy`: the global MT19937 stream exactly "
            "as the tutorial uses it (with n_samples=20, length=10, seed=1: the tutorial dataset)."
        ),
    )

    @model_validator(mode="after")
    def _one_length_form(self) -> DatasetSpec:
        variable = self.min_length is not None or self.max_length is not None
        if self.length is not None and variable:
            raise ValueError("give either length or min_length and max_length, not both")
        if self.length is None and (self.min_length is None or self.max_length is None):
            raise ValueError("give length, or both min_length and max_length")
        low, high = self.min_length, self.max_length
        if low is not None and high is not None and high < low:
            raise ValueError("max_length must be >= min_length")
        return self

    @property
    def longest(self) -> int:
        """The padded width of the generated dataset."""
        longest = self.length if self.length is not None else self.max_length
        assert longest is not None
        return longest


class DatasetData(RequestModel):
    """An uploaded dataset: sequences of real numbers, possibly of different lengths."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"sequences": [[0, 1, 1], [1, 0, 1, 1, 0]], "targets": None}]
        }
    )

    sequences: FloatRows = Field(
        description="The input sequences (each at least one step; lengths may differ).",
        examples=[[[0, 1, 1], [1, 0, 1, 1, 0]]],
        json_schema_extra={"minItems": 1, **limited_by("max_samples")},
    )
    targets: Floats | None = Field(
        default=None, description="One target per sequence; null means each sequence's sum."
    )

    @model_validator(mode="after")
    def _targets_match(self) -> DatasetData:
        if self.targets is not None and len(self.targets) != len(self.sequences):
            raise ValueError(
                f"targets has {len(self.targets)} values for {len(self.sequences)} sequences"
            )
        return self


def _source_kind(value: Any) -> str | None:
    """Tell a spec from uploaded data by its required field (clearer errors than a union)."""
    if isinstance(value, dict):
        return "data" if "sequences" in value else "spec"
    if isinstance(value, DatasetData):
        return "data"
    if isinstance(value, DatasetSpec):
        return "spec"
    return None


DatasetSource = Annotated[
    Annotated[DatasetSpec, Tag("spec")] | Annotated[DatasetData, Tag("data")],
    Discriminator(
        _source_kind,
        custom_error_type="dataset_type",
        custom_error_message="dataset must be a DatasetSpec or a DatasetData object",
    ),
]


class DatasetRef(RequestModel):
    """Mixin: which dataset a request works on. Neither field given: the tutorial dataset."""

    schema_rules = (at_most_one("dataset_id", "dataset"),)

    dataset_id: DatasetId | None = Field(
        default=None, description="A stored dataset (from `POST /datasets`)."
    )
    dataset: DatasetSource | None = Field(
        default=None,
        description="An inline dataset: a generation spec or the sequences themselves.",
    )

    def cache_key(self) -> dict[str, Any]:
        """The reference as part of a cache key: an id names its content, a spec its data."""
        return self.model_dump(mode="json", exclude_none=True)

    @model_validator(mode="after")
    def _at_most_one_dataset(self) -> DatasetRef:
        if self.dataset_id is not None and self.dataset is not None:
            raise ValueError("give dataset_id or dataset, not both")
        return self


class DatasetOut(ResponseModel):
    """A stored dataset; `sequences` and `targets` only with `?include=data`."""

    sometimes = frozenset({"sequences", "targets"})

    id: str = Field(description="Use it as `dataset_id`.", examples=["g-3f7c2a9e0b1d4c6e8a5f"])
    kind: Literal["generated", "uploaded"] = Field(
        description="`generated` from a spec (regenerated on demand) or `uploaded` sequences."
    )
    n_samples: int = Field(description="Number of sequences.", examples=[20])
    min_length: int = Field(description="Shortest sequence.", examples=[10])
    max_length: int = Field(description="Longest sequence.", examples=[10])
    is_binary: bool = Field(description="Whether every input is 0 or 1.")
    created_at: datetime = Field(
        description="When it was first stored (RFC 3339, UTC, ending in Z).",
        examples=["2026-11-30T04:15:47.628899Z"],
    )
    spec: DatasetSpec | None = Field(
        default=None, description="The generation spec (generated only)."
    )
    sequences: list[list[float]] | None = Field(
        default=None, description="The sequences, unpadded (with `?include=data`)."
    )
    targets: list[float] | None = Field(
        default=None, description="The targets (with `?include=data`)."
    )


class DatasetPage(ResponseModel):
    """A page of stored datasets, oldest first."""

    items: list[DatasetOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )
