"""POST /runs: the body (POST /train's fields, answered in the request) and the answer.

The body reuses the job's types (dataset reference, weights, the optimizer object derived
from core's registry), so a run and a job given the same fields train the same way; only
what a job keeps for later (``record_trajectory``) and the grid of starts are left out.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from service.analysis.schemas import Weights
from service.datasets.schemas import DatasetRef
from service.jobs.models import StartResult
from service.jobs.optimizers import OptimizerSpec
from service.jobs.schemas import TUTORIAL_INITIAL, TrainRequest
from service.web.models import FiniteFloat, ResponseModel, limited_by

__all__ = ["Outcome", "RunPath", "RunRequest", "RunResponse", "RunStart"]

Outcome = Literal["converged", "diverged", "overflow", "completed"]


class RunRequest(DatasetRef):
    """A short training run, computed at once: the fields of `POST /train` it needs."""

    model_config = DatasetRef.model_config | {
        "json_schema_extra": {
            "examples": [
                {},
                {"optimizer": {"name": "sgd", "learning_rate": 0.0001}, "iterations": 200},
                {
                    "optimizer": {"name": "irprop-"},
                    "starts": [{"wx": -1.5, "wrec": 2}, {"wx": 2, "wrec": -1}],
                },
            ]
        }
    }

    initial: Weights = Field(
        default_factory=lambda: Weights.model_validate(TUTORIAL_INITIAL),
        description="Where training starts (ignored when `starts` is given).",
    )
    optimizer: OptimizerSpec = Field(
        default_factory=lambda: OptimizerSpec.model_validate({}),
        description="The optimizer and its hyperparameters, as for `POST /train`.",
    )
    iterations: int = Field(
        500,
        ge=1,
        description="Iterations (at most the server's max_run_iterations).",
        json_schema_extra=limited_by("max_run_iterations"),
    )
    tolerance: FiniteFloat | None = Field(
        default=None,
        ge=0,
        description="Stop early once the loss is at or below this value (`converged`).",
    )
    starts: list[Weights] | None = Field(
        default=None,
        min_length=1,
        description="Several starting points (at most max_run_starts), trained side by side.",
        json_schema_extra=limited_by("max_run_starts"),
    )

    @property
    def n_starts(self) -> int:
        return len(self.starts) if self.starts is not None else 1

    def as_train_request(self) -> TrainRequest:
        """The job that would train the same way (already validated: nothing is re-checked)."""
        fields = {name: getattr(self, name) for name in type(self).model_fields}
        return TrainRequest.model_construct(record_trajectory=True, starts_grid=None, **fields)


class RunPath(ResponseModel):
    """A run's path, thinned to `max_points` points (both ends kept) when it is longer."""

    iteration: list[int] = Field(description="Iteration of each point (0: the start).")
    wx: list[float | None] = Field(description="wx after that iteration (null: overflow).")
    wrec: list[float | None] = Field(description="wrec after that iteration (null: overflow).")
    loss: list[float | None] = Field(description="Loss there (null: overflow).")
    step: list[float | None] = Field(
        description="Length of that iteration's move in the (wx, wrec) plane (0 at the start)."
    )


class RunStart(StartResult):
    """One start's outcome and path."""

    outcome: Outcome = Field(
        description="`diverged` (the weights left float64), `overflow` (the loss did), "
        "`converged` (the loss reached `tolerance` or the gradient vanished), else `completed`."
    )
    points: int = Field(description="Points of the whole path (iterations done + 1).")
    path: RunPath


class RunResponse(ResponseModel):
    """Every start's outcome and thinned path, in request order."""

    iterations: int = Field(description="Iterations asked for.")
    max_points: int | None = Field(description="The thinning asked for (null: every point).")
    overflow: bool = Field(description="Whether any value overflowed float64 (shown as null).")
    starts: list[RunStart]
