"""Training jobs: the POST /train body, the public Job and the list page.

The Job is a view of the store's ``JobRecord`` (``Job.of``): the same progress and result
models, without the workers' bookkeeping. Hyperparameters are declared one by one (so
OpenAPI lists them), and left unset they take core's defaults for the chosen optimizer.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_serializer, model_validator

from service.analysis.schemas import Weights
from service.datasets.schemas import DatasetRef
from service.jobs.models import JobProgress, JobRecord, JobResult, JobStatus
from service.web.models import FiniteFloat, RequestModel
from service.web.problems import Problem

__all__ = ["Job", "JobList", "OptimizerName", "OptimizerSpec", "StartsGrid", "TrainRequest"]

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


class StartsGrid(RequestModel):
    """Multi-start from every point of an evenly spaced nx x ny grid over a window.

    The points are ``numpy.linspace`` per axis with wx varying fastest: start i * nx + j
    is (wx[j], wrec[i]), the cell ``loss[i][j]`` of `GET /loss-surface` on the same window.
    """

    model_config = RequestModel.model_config | {
        "json_schema_extra": {
            "examples": [
                {"wx_min": -2, "wx_max": 2, "wrec_min": -1.5, "wrec_max": 1.5, "nx": 5, "ny": 4}
            ]
        }
    }

    wx_min: FiniteFloat = Field(description="Smallest wx of the grid.")
    wx_max: FiniteFloat = Field(description="Largest wx of the grid (>= wx_min).")
    wrec_min: FiniteFloat = Field(description="Smallest wrec of the grid.")
    wrec_max: FiniteFloat = Field(description="Largest wrec of the grid (>= wrec_min).")
    nx: int = Field(ge=1, description="Grid points along wx.")
    ny: int = Field(ge=1, description="Grid points along wrec.")

    @model_validator(mode="after")
    def _ordered_window(self) -> StartsGrid:
        for name, low, high in (
            ("wx", self.wx_min, self.wx_max),
            ("wrec", self.wrec_min, self.wrec_max),
        ):
            if low > high:
                raise ValueError(f"{name}_max must be >= {name}_min, got {high} < {low}")
            if not math.isfinite(high - low):  # linspace's step would overflow to NaN
                raise ValueError(f"{name}_max - {name}_min must be a finite number")
        return self

    @property
    def points(self) -> int:
        """How many starts the grid is (an exact int: checked against limits before building)."""
        return self.nx * self.ny


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
                {
                    "optimizer": {"name": "irprop-"},
                    "starts_grid": {
                        "wx_min": -2,
                        "wx_max": 2,
                        "wrec_min": -1.5,
                        "wrec_max": 1.5,
                        "nx": 5,
                        "ny": 4,
                    },
                    "iterations": 200,
                },
            ]
        }
    }

    initial: Weights = Field(
        default_factory=lambda: Weights.model_validate(TUTORIAL_INITIAL),
        description="Where training starts (ignored when `starts` or `starts_grid` is given).",
    )
    optimizer: OptimizerSpec = Field(
        default_factory=lambda: OptimizerSpec(),
        description="The optimizer and its hyperparameters.",
    )
    iterations: int = Field(500, ge=1, description="Iterations (full-batch gradient steps).")
    tolerance: FiniteFloat | None = Field(
        default=None,
        ge=0,
        description=(
            "Stop early once the loss is at or below this value (`converged`); "
            "without it the run takes every iteration."
        ),
    )
    record_trajectory: bool = Field(
        True, description="Keep the weights and loss of every iteration (GET .../trajectory)."
    )
    starts: list[Weights] | None = Field(
        default=None,
        min_length=1,
        description="Multi-start: train from each of these weights; the result reports all.",
    )
    starts_grid: StartsGrid | None = Field(
        default=None,
        description=(
            "Multi-start from every point of a grid (instead of `starts`); the result "
            "reports all, start i * nx + j at (wx[j], wrec[i])."
        ),
    )

    @model_validator(mode="after")
    def _at_most_one_start_list(self) -> TrainRequest:
        if self.starts is not None and self.starts_grid is not None:
            raise ValueError("give starts or starts_grid, not both")
        return self

    @property
    def n_starts(self) -> int:
        """Starts the job trains from: 1, len(starts) or the grid's nx x ny."""
        if self.starts_grid is not None:
            return self.starts_grid.points
        return len(self.starts) if self.starts is not None else 1


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
