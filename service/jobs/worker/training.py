"""A train request in, core's training out: the numerical part of a job, free of queue concerns.

``run_training`` calls ``core.training.train`` (one start) or ``train_many`` (``starts``, or
the points of ``starts_grid`` from ``core.training.grid_starts``), passing the job's callback
through, and turns core's result into the job's ``JobResult`` and the trajectories to keep.
``progress_of`` turns core's per-iteration ``Progress`` into the job's progress (for several
starts: the start with the lowest loss so far).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.datasets import Dataset
from core.optimizers import make_optimizer
from core.training import Progress, Trajectory, train, train_many
from service.jobs.models import JobProgress, JobResult, StartResult, weights_out
from service.jobs.schemas import TrainRequest
from service.web.encoding import finite_or_none


@dataclass(frozen=True)
class TrainingOutcome:
    result: JobResult
    trajectories: list[Trajectory]


def run_training(
    request: TrainRequest, dataset: Dataset, callback: Callable[[Progress], None]
) -> TrainingOutcome:
    """Train as ``request`` says; ``callback`` sees every iteration (and may raise to stop)."""
    optimizer = make_optimizer(request.optimizer.name, **request.optimizer.hyperparameters())
    starts = starts_of(request)
    if starts is None:
        run = train(
            dataset,
            optimizer,
            (request.initial.wx, request.initial.wrec),
            request.iterations,
            tolerance=request.tolerance,
            record_trajectory=request.record_trajectory,
            callback=callback,
        )
        result = JobResult(
            weights=weights_out(run.wx, run.wrec),
            loss=finite_or_none(run.loss),
            iterations=run.iterations,
            converged=run.converged,
            diverged=run.diverged,
            overflow=not np.isfinite([run.wx, run.wrec, run.loss]).all(),
        )
        kept = [run.trajectory] if run.trajectory is not None else []
        return TrainingOutcome(result, kept)

    many = train_many(
        dataset,
        optimizer,
        starts,
        request.iterations,
        tolerance=request.tolerance,
        record_trajectory=request.record_trajectory,
        callback=callback,
    )
    per_start = [
        StartResult(
            initial=weights_out(*many.initial[i]),
            weights=weights_out(*many.weights[i]),
            loss=finite_or_none(many.loss[i]),
            iterations=many.iterations,
            converged=bool(many.converged[i]),
            diverged=bool(many.diverged[i]),
            overflow=not np.isfinite([*many.weights[i], many.loss[i]]).all(),
        )
        for i in range(len(starts))
    ]
    best = _best(many.loss)
    top = per_start[best]
    result = JobResult(
        weights=top.weights,
        loss=top.loss,
        iterations=many.iterations,
        converged=top.converged,
        diverged=top.diverged,
        overflow=top.overflow,
        best_start=best,
        starts=per_start,
    )
    return TrainingOutcome(result, list(many.trajectories))


def starts_of(request: TrainRequest) -> np.ndarray | None:
    """The (k, 2) starts of a multi-start request; None for a single start (``initial``)."""
    if request.starts_grid is not None:
        return request.starts_grid.window().points
    if request.starts is not None:
        return np.array([(w.wx, w.wrec) for w in request.starts], dtype=np.float64)
    return None


def progress_of(progress: Progress) -> JobProgress:
    """The job's view of core's progress; evaluates the loss, so call it sparingly."""
    losses = progress.losses
    start = _best(losses) if len(losses) > 1 else 0
    return JobProgress(
        iteration=progress.iteration,
        iterations=progress.iterations,
        loss=finite_or_none(losses[start]),
        weights=weights_out(progress.weights[start, 0], progress.weights[start, 1]),
        start=start if len(losses) > 1 else None,
    )


def _best(losses: np.ndarray) -> int:
    """Index of the lowest finite loss (0 when none is finite)."""
    finite = np.where(np.isfinite(losses), losses, np.inf)
    return int(np.argmin(finite))
