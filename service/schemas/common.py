"""Shapes shared by several resources: weights, dataset references, problems.

Request models are strict (``false`` is not an int, ``"1"`` is not a number) and forbid
unknown fields, so typos fail loudly; floats must be finite (NaN, Infinity and numbers
that overflow a double are 422).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from service.web.body import FloatRows, Floats

__all__ = [
    "DatasetData",
    "DatasetId",
    "DatasetRef",
    "DatasetSource",
    "DatasetSpec",
    "ErrorItem",
    "FiniteFloat",
    "Problem",
    "RequestModel",
    "Weights",
    "WeightsOut",
]

FiniteFloat = Annotated[float, Field(allow_inf_nan=False, strict=True)]
"""A JSON number that is a finite double (ints are accepted, booleans and strings are not)."""

DatasetId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        description="Id of a dataset created with `POST /datasets`.",
        examples=["g-3f7c2a9e0b1d4c6e8a5f"],
    ),
]


class RequestModel(BaseModel):
    """Base of request bodies: strict types, unknown fields rejected."""

    model_config = ConfigDict(strict=True, extra="forbid")


class Weights(RequestModel):
    """The two weights of the linear RNN: s_k = s_{k-1} * wrec + x_k * wx."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"wx": 1.0, "wrec": 1.0}]})

    wx: FiniteFloat = Field(description="Input weight.", examples=[1.0])
    wrec: FiniteFloat = Field(description="Recurrent weight.", examples=[1.0])


class WeightsOut(BaseModel):
    """A pair of weights (or of derivatives with respect to them) in a response."""

    wx: float | None = Field(description="Value for wx (null when it overflowed).")
    wrec: float | None = Field(description="Value for wrec (null when it overflowed).")


class DatasetSpec(RequestModel):
    """A generated dataset: random binary sequences whose targets are their counts of ones.

    Deterministic: the same spec always gives the same dataset. Give either `length`,
    or `min_length` and `max_length` for variable lengths.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"n_samples": 20, "length": 10, "seed": 1, "generator": "legacy"},
                {"n_samples": 1000, "min_length": 5, "max_length": 50, "seed": 7},
            ]
        }
    )

    n_samples: int = Field(ge=1, description="Number of sequences.", examples=[20])
    length: int | None = Field(
        default=None,
        ge=1,
        description="Steps of every sequence (or use min/max_length).",
        examples=[10],
    )
    min_length: int | None = Field(
        default=None, ge=1, description="Shortest sequence (variable lengths)."
    )
    max_length: int | None = Field(
        default=None, ge=1, description="Longest sequence (variable lengths)."
    )
    seed: int = Field(
        default=0,
        ge=0,
        le=2**64 - 1,
        description="Random seed; the legacy generator takes seeds < 2**32.",
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
        json_schema_extra={"minItems": 1},
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

    dataset_id: DatasetId | None = Field(
        default=None, description="A stored dataset (from `POST /datasets`)."
    )
    dataset: DatasetSource | None = Field(
        default=None,
        description="An inline dataset: a generation spec or the sequences themselves.",
    )

    @model_validator(mode="after")
    def _at_most_one_dataset(self) -> DatasetRef:
        if self.dataset_id is not None and self.dataset is not None:
            raise ValueError("give dataset_id or dataset, not both")
        return self


class ErrorItem(BaseModel):
    """One invalid value: where it is and what is wrong with it."""

    loc: list[str | int] = Field(description='Path to the value, e.g. ["body", "weights", "wx"].')
    msg: str = Field(description="What is wrong.")
    type: str | None = Field(default=None, description="Machine-readable error kind.")


class LimitInfo(BaseModel):
    """The configured limit a request went over."""

    name: str = Field(description="Setting name (environment variable RNNLAB_<NAME>).")
    value: float = Field(description="Its configured value.")


class Problem(BaseModel):
    """An error, as RFC 9457 problem details (media type application/problem+json)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:rnnlab:problem:validation-error",
                    "title": "Invalid Input",
                    "status": 422,
                    "detail": "body.weights.wx: Input should be a finite number",
                    "instance": "/loss",
                    "errors": [
                        {
                            "loc": ["body", "weights", "wx"],
                            "msg": "Input should be a finite number",
                            "type": "finite_number",
                        }
                    ],
                }
            ]
        },
    )

    type: str = Field(description="URI of the problem kind (about:blank: see the status).")
    title: str = Field(description="Short summary of the problem kind.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong with this request.")
    instance: str | None = Field(default=None, description="Path of the request.")
    errors: list[ErrorItem] | None = Field(default=None, description="Invalid values (422).")
    limit: LimitInfo | None = Field(default=None, description="The limit exceeded (413).")
