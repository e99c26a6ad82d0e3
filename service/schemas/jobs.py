"""Training jobs: the POST /train body, the public Job and the list page.

The Job is a view of the store's ``JobRecord`` (``Job.of``): the same progress and result
models, without the workers' bookkeeping. Hyperparameters are declared one by one (so
OpenAPI lists them), and left unset they take core's defaults for the chosen optimizer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_serializer

from service.jobs.models import JobProgress, JobRecord, JobResult, JobStatus
from service.schemas.common import DatasetRef, FiniteFloat, Problem, RequestModel, Weights

__all__ = ["Job", "JobList", "OptimizerName", "OptimizerSpec", "TrainRequest"]

OptimizerName = Literal["rprop", "rprop-", "rprop+", "irprop-", "irprop+", "sgd"]
TUTORIAL_INITIAL = {"wx": -1.5, "wrec": 2.0}


class OptimizerSpec(RequestModel):
    """An optimizer and its hyperparameters; those left out take the optimizer's defaults."""

    model_config = RequestModel.model_config | {
        "json_schema_extra": {
            "examples": [
                {"name": "rprop"},
                {"name": "irprop+", "delta_max": 10},
                {"name": "sgd", "learning_rate": 0.001, "momentum": 0.9},
            ]
        }
    }

    name: OptimizerName = Field(
        default="rprop",
        description=(
            "`rprop`: the tutorial's variant (no step bounds); `rprop-`, `rprop+`, `irprop-`, "
            "`irprop+`: with step bounds; `sgd`: gradient descent."
        ),
    )
    eta_plus: FiniteFloat | None = Field(
        default=None, description="RProp step growth (default 1.2)."
    )
    eta_minus: FiniteFloat | None = Field(
        default=None, description="RProp step shrink (default 0.5)."
    )
    delta0: FiniteFloat | None = Field(
        default=None, description="RProp initial step (default 0.001)."
    )
    delta_min: FiniteFloat | None = Field(
        default=None, description="Smallest step of rprop-/rprop+/irprop-/irprop+ (default 1e-6)."
    )
    delta_max: FiniteFloat | None = Field(
        default=None, description="Largest step of rprop-/rprop+/irprop-/irprop+ (default 50)."
    )
    learning_rate: FiniteFloat | None = Field(
        default=None, description="SGD step size (default 0.001)."
    )
    momentum: FiniteFloat | None = Field(default=None, description="SGD momentum (default 0).")
    nesterov: bool | None = Field(
        default=None, description="SGD Nesterov momentum (default false)."
    )
    clip_norm: FiniteFloat | None = Field(
        default=None, description="SGD: clip the gradient to this norm (default: no clipping)."
    )

    def hyperparameters(self) -> dict[str, Any]:
        """The hyperparameters the client gave, as keyword arguments for core."""
        return {
            key: value
            for key, value in self.model_dump(exclude={"name"}).items()
            if value is not None
        }


class TrainRequest(DatasetRef):
    """A training run: the tutorial's (rprop from (-1.5, 2), 500 iterations) by default."""

    model_config = DatasetRef.model_config | {
        "json_schema_extra": {
            "examples": [
                {},
                {"iterations": 200, "optimizer": {"name": "irprop+"}},
                {
                    "dataset": {"n_samples": 1000, "length": 20, "seed": 3},
                    "starts": [{"wx": -1.5, "wrec": 2}, {"wx": 2, "wrec": -1}],
                    "iterations": 300,
                },
            ]
        }
    }

    initial: Weights = Field(
        default_factory=lambda: Weights.model_validate(TUTORIAL_INITIAL),
        description="Where training starts (ignored when `starts` is given).",
    )
    optimizer: OptimizerSpec = Field(
        default_factory=lambda: OptimizerSpec(),
        description="The optimizer and its hyperparameters.",
    )
    iterations: int = Field(500, ge=1, description="Iterations (full-batch gradient steps).")
    tolerance: FiniteFloat | None = Field(
        default=None, ge=0, description="Stop early once the loss is at or below this value."
    )
    record_trajectory: bool = Field(
        True, description="Keep the weights and loss of every iteration (GET .../trajectory)."
    )
    starts: list[Weights] | None = Field(
        default=None,
        min_length=1,
        description="Multi-start: train from each of these weights; the result reports all.",
    )


class Job(BaseModel):
    """A training job and, once it ended, its result or error."""

    id: str = Field(description="The job id (sorts by creation time).")
    status: JobStatus = Field(description="queued, running, succeeded, failed or cancelled.")
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    progress: JobProgress
    result: JobResult | None = Field(default=None, description="Set when the job succeeded.")
    error: Problem | None = Field(
        default=None, description="Why the job failed (or was cancelled)."
    )
    cancel_requested: bool = Field(False, description="A DELETE asked a running job to stop.")
    worker: str | None = Field(default=None, description="host:pid of the worker that ran it.")

    @field_serializer("error")
    def _error(self, error: Problem | None) -> dict[str, Any] | None:
        """A problem without its unset optional members (instance, errors, limit)."""
        return None if error is None else error.model_dump(mode="json", exclude_none=True)

    @classmethod
    def of(cls, record: JobRecord) -> Job:
        return cls.model_validate(record.model_dump(exclude={"request", "heartbeat_at"}))


class JobList(BaseModel):
    """A page of jobs, newest first."""

    items: list[Job]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor=` for the next page; null on the last page."
    )
