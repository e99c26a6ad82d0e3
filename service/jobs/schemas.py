"""Training jobs: the POST /train body, the public Job and the list page.

The Job is a view of the store's ``JobRecord`` (``Job.of``): the same progress and result
models, without the workers' bookkeeping. The optimizer object comes from core's registry
(``service.jobs.optimizers``); hyperparameters left unset take the optimizer's defaults.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field, field_serializer, model_validator

from core.errors import InvalidInputError
from core.window import Window
from service.analysis.schemas import Weights
from service.datasets.schemas import DatasetRef
from service.jobs.models import JobProgress, JobRecord, JobResult, JobStatus
from service.jobs.optimizers import OptimizerSpec
from service.web.models import FiniteFloat, RequestModel, ResponseModel, at_most_one, limited_by
from service.web.problems import Problem

__all__ = ["Job", "JobList", "StartsGrid", "TrainRequest", "TrajectoryOut"]

TUTORIAL_INITIAL = {"wx": -1.5, "wrec": 2.0}


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
    def _a_window(self) -> StartsGrid:
        self.window()  # the one validation of windows, core's
        return self

    def window(self) -> Window:
        """The grid as core's window (ValueError, naming the field, when it is not one)."""
        try:
            return Window(self.wx_min, self.wx_max, self.wrec_min, self.wrec_max, self.nx, self.ny)
        except InvalidInputError as exc:
            raise ValueError(str(exc)) from None

    @property
    def points(self) -> int:
        """How many starts the grid is (an exact int: checked against limits before building)."""
        return self.nx * self.ny


class TrainRequest(DatasetRef):
    """A training run: the tutorial's (rprop from (-1.5, 2), 500 iterations) by default."""

    schema_rules = (at_most_one("starts", "starts_grid"),)

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
        default_factory=lambda: OptimizerSpec.model_validate({}),
        description="The optimizer and its hyperparameters.",
    )
    iterations: int = Field(
        500,
        ge=1,
        description="Iterations (full-batch gradient steps).",
        json_schema_extra=limited_by("max_iterations"),
    )
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
        json_schema_extra=limited_by("max_starts"),
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


class Job(ResponseModel):
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
        return cls.model_validate(record, from_attributes=True)


class JobList(ResponseModel):
    """A page of jobs, newest first."""

    items: list[Job]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor=` for the next page; null on the last page."
    )


class TrajectoryOut(ResponseModel):
    """The path training took: weights and loss before the first and after every iteration.

    The npy and CSV forms hold the same numbers as a table (columns wx, wrec, loss; CSV
    with the iteration first); non-finite values are null here, NaN in npy, empty in CSV.
    """

    job_id: str = Field(description="The job.")
    start: int = Field(description="Which start of the job the path is (0 for a single start).")
    iterations: int = Field(description="Iterations the job ran (the path's last iteration).")
    overflow: bool = Field(description="Whether some value overflowed float64 (shown as null).")
    iteration: list[int] = Field(
        description="The iteration of each point (0: the start); every one unless thinned."
    )
    wx: list[float | None] = Field(description="wx after each of those iterations.")
    wrec: list[float | None] = Field(description="wrec after each iteration.")
    loss: list[float | None] = Field(description="The loss at those weights.")
