"""Predictions of the trained (or given) network on new sequences."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from service.analysis.schemas import Weights
from service.web.arrays import FloatRows
from service.web.models import RequestModel

__all__ = ["PredictRequest", "PredictResponse"]


class PredictRequest(RequestModel):
    """Outputs of the network for sequences of any length; weights given or from a job."""

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
        json_schema_extra={"minItems": 1},
    )

    @model_validator(mode="after")
    def _exactly_one_source(self) -> PredictRequest:
        if (self.weights is None) == (self.job_id is None):
            raise ValueError("give exactly one of weights or job_id")
        return self


class PredictResponse(BaseModel):
    """One output per sequence, and the count it rounds to."""

    outputs: list[float | None] = Field(description="y = s_n per sequence (null: overflow).")
    counts: list[int | None] = Field(
        description="Each output rounded to the nearest integer (null when not representable)."
    )
    weights: Weights = Field(description="The weights used.")
    overflow: bool = Field(description="Whether any output overflowed float64.")
