"""A run request in, its outcome and thinned paths out: the job's training, answered now.

Training goes through the job's own numerical step (``run_training``), so a run and a job
given the same fields produce the same path, point for point; only the thinning
(``service.figures.paths``, the one home of it) and the step lengths are added here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from core.datasets import Dataset
from core.training import Progress, Trajectory
from service.figures.paths import picked
from service.jobs.models import RunOutcome
from service.jobs.worker.training import run_training
from service.runs.schemas import Outcome, RunRequest

__all__ = ["outcome_of", "run_payload", "step_lengths"]


def _ignore(progress: Progress) -> None:
    """A request answers at the end: nothing to report per iteration."""


def run_payload(dataset: Dataset, request: RunRequest, max_points: int | None) -> dict[str, Any]:
    """Train as ``request`` says and describe every start (blocking: run it in a thread)."""
    trained = run_training(request.as_train_request(), dataset, _ignore)
    result = trained.result
    outcomes: list[RunOutcome] = list(result.starts) if result.starts else [result]
    initials = (
        [(w.wx, w.wrec) for w in request.starts]
        if request.starts is not None
        else [(request.initial.wx, request.initial.wrec)]
    )
    starts = []
    for run, trajectory, initial in zip(outcomes, trained.trajectories, initials, strict=True):
        starts.append(
            run.model_dump(mode="json", exclude={"initial", "best_start", "starts"})
            | {
                "initial": {"wx": initial[0], "wrec": initial[1]},
                "outcome": outcome_of(run),
                "points": int(trajectory.wx.size),
                "path": _path(trajectory, max_points),
            }
        )
    return {
        "iterations": request.iterations,
        "max_points": max_points,
        "overflow": any(start["overflow"] for start in starts),
        "starts": starts,
    }


def outcome_of(run: RunOutcome) -> Outcome:
    """How a run ended, in one word: what a page labels it with."""
    if run.diverged:
        return "diverged"
    if run.overflow:
        return "overflow"
    if run.converged:
        return "converged"
    return "completed"


def step_lengths(trajectory: Trajectory) -> NDArray[np.float64]:
    """Distance moved by each iteration in the (wx, wrec) plane; 0 before the first."""
    with np.errstate(invalid="ignore", over="ignore"):
        moves = np.hypot(np.diff(trajectory.wx), np.diff(trajectory.wrec))
    return np.concatenate([[0.0], moves])


def _path(trajectory: Trajectory, max_points: int | None) -> dict[str, Any]:
    size = int(trajectory.wx.size)
    idx = picked(size, max_points or size) if size > 1 else np.arange(size)
    return {
        "iteration": idx,
        "wx": trajectory.wx[idx],
        "wrec": trajectory.wrec[idx],
        "loss": trajectory.loss[idx],
        "step": step_lengths(trajectory)[idx],
    }
