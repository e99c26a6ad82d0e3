"""Predictions of the trained (or given) network on new sequences."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, model_validator

from service.analysis.schemas import Weights
from service.datasets.schemas import MAX_SAFE_INTEGER
from service.web.arrays import FloatRows
from service.web.models import RequestModel, ResponseModel, exactly_one, limited_by

__all__ = ["PredictRequest", "PredictResponse"]


class PredictRequest(RequestModel):
    """Outputs of the network for sequences of any length; weights given or from a job."""

    schema_rules = tuple(exactly_one("weights", "job_id"))

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "weights": {"wx": 1.0, "wrec": 1.0},
                    "sequences": [[0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 1, 1]],
                }
            ]
        }
    )

    weights: Weights | None = Field(default=None, description="The weights to use (or job_id).")
    job_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Use the trained weights of this finished training job (or weights).",
    )
    sequences: FloatRows = Field(
        description="Input sequences; lengths may differ and need not match the training data.",
        examples=[[[0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 1, 1]]],
        json_schema_extra={"minItems": 1, **limited_by("max_predict_sequences")},
    )

    @model_validator(mode="after")
    def _exactly_one_source(self) -> PredictRequest:
        if (self.weights is None) == (self.job_id is None):
            raise ValueError("give exactly one of weights or job_id")
        return self


class PredictResponse(ResponseModel):
    """One output per sequence, and the count it rounds to."""

    outputs: list[float | None] = Field(description="y = s_n per sequence (null: overflow).")
    counts: list[Annotated[int, Field(ge=-MAX_SAFE_INTEGER, le=MAX_SAFE_INTEGER)] | None] = Field(
        description=(
            "Each output rounded to the nearest integer; null when the output overflowed or "
            "the count is beyond 2**53 - 1 in size (not exact as a JSON number everywhere)."
        )
    )
    weights: Weights = Field(description="The weights used.")
    overflow: bool = Field(description="Whether any output overflowed float64.")
