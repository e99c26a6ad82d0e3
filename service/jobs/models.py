"""The job record: one document per job, shared by the API, the workers and the reaper.

The record is what the store keeps; the public ``Job`` schema is a view of it. Numbers a
diverging run can produce (loss, weights) are ``float | None``: non-finite values are
stored and served as ``null`` (see :func:`finite_or_none`), never as NaN tokens.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from service.analysis.schemas import WeightsOut
from service.errors import problem_type
from service.web.encoding import finite_or_none
from service.web.models import ResponseModel

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
JOB_STATUSES: tuple[JobStatus, ...] = ("queued", "running", "succeeded", "failed", "cancelled")
ACTIVE_STATUSES: frozenset[str] = frozenset({"queued", "running"})
FINISHED_STATUSES: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})


def weights_out(wx: float, wrec: float) -> WeightsOut:
    return WeightsOut(wx=finite_or_none(wx), wrec=finite_or_none(wrec))


def utcnow() -> datetime:
    return datetime.now(UTC)


class JobProgress(ResponseModel):
    """Where a job is: iterations done of iterations asked, and the current loss and weights."""

    iteration: int = Field(ge=0, description="Iterations done so far.")
    iterations: int = Field(ge=0, description="Iterations asked for (per start).")
    loss: float | None = Field(
        description="Loss at the current weights (null: overflow or unknown)."
    )
    weights: WeightsOut = Field(description="The current weights.")
    start: int | None = Field(
        default=None, description="Multi-start jobs: index of the start the numbers belong to."
    )


class RunOutcome(ResponseModel):
    """Where a training run ended, and how."""

    weights: WeightsOut = Field(description="The trained weights (null where they overflowed).")
    loss: float | None = Field(description="Loss at the trained weights (null: overflow).")
    iterations: int = Field(description="Iterations done.")
    converged: bool = Field(
        description="Stopped early: the loss reached the request's `tolerance` (or the "
        "gradient was exactly zero)."
    )
    diverged: bool = Field(description="The weights stopped being finite (training stopped).")
    overflow: bool = Field(description="The loss or a weight is non-finite (shown as null).")


class StartResult(RunOutcome):
    """The outcome of one start of a multi-start job."""

    initial: WeightsOut = Field(description="Where this start began.")


class JobResult(RunOutcome):
    """The outcome of a succeeded job; a multi-start job reports its best start and all starts."""

    best_start: int | None = Field(
        default=None,
        description="Multi-start jobs: index in `starts` of the reported (lowest-loss) run.",
    )
    starts: list[StartResult] | None = Field(
        default=None,
        description=(
            "Multi-start jobs: every start's outcome, in request order (for `starts_grid`: "
            "start i * nx + j began at (wx[j], wrec[i]))."
        ),
    )


class JobRecord(BaseModel):
    """Everything known about one job: the public fields plus the workers' bookkeeping."""

    id: str
    status: JobStatus
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    progress: JobProgress
    result: JobResult | None = None
    error: dict[str, Any] | None = None
    worker: str | None = None
    # Bookkeeping: not part of the public Job shape.
    heartbeat_at: datetime | None = None
    cancel_requested: bool = False
    attempts: int = 0
    n_trajectories: int = 0
    trajectory_error: str | None = None  # why a succeeded job kept no trajectory

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def lost(self) -> bool:
        """Failed by a reaper because its worker went silent (its worker may yet report)."""
        return self.status == "failed" and (self.error or {}).get("type") == problem_type(
            "worker-lost"
        )


def problem(slug: str, title: str, status: int, detail: str) -> dict[str, Any]:
    """An RFC 9457 problem document for a job's ``error`` field (same URNs as the API's)."""
    return {
        "type": problem_type(slug),
        "title": title,
        "status": status,
        "detail": detail,
    }
