"""One training loop for every optimiser: trajectory, early stop, per-iteration callback.

Gradients come from the polynomial statistics where they vouch for them (core.fastpath)
and from BPTT elsewhere, so every step is the step BPTT would give. The statistics cost
one O(n T^2) pass and then O(T) per step, against O(n T) per step for BPTT: so a run
takes them for wider datasets than a single evaluation would (``Oracle``'s evaluations).

A start has converged when its loss is at or below ``tolerance`` or its gradient is
exactly zero, and has diverged when its weights stop being finite (plain gradient descent
does this on the exploding gradients of |wrec| > 1, as the tutorial warns); the loop
stops when every start has done one or the other (``train_many``: the others carry on,
those stay put).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from core.cancel import checkpoint
from core.datasets import Dataset
from core.errors import InvalidInputError
from core.fastpath import RTOL, SIGN_RTOL, Oracle
from core.optimizers import Optimizer
from core.window import Window

__all__ = [
    "MultiStartResult",
    "Progress",
    "TrainingResult",
    "Trajectory",
    "grid_starts",
    "train",
    "train_many",
]

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Trajectory:
    """Weights and loss before the first and after every iteration (index 0: the start)."""

    wx: Array
    wrec: Array
    loss: Array


class Progress:
    """What the callback sees each iteration; the loss is computed only if asked for."""

    def __init__(self, iteration: int, iterations: int, weights: Array, oracle: Oracle) -> None:
        self.iteration = iteration
        self.iterations = iterations
        self.weights = weights.copy()
        self._oracle = oracle
        self._loss: Array | None = None

    @property
    def wx(self) -> float:
        return float(self.weights[0, 0])

    @property
    def wrec(self) -> float:
        return float(self.weights[0, 1])

    @property
    def losses(self) -> Array:
        if self._loss is None:
            self._loss = self._oracle.losses(self.weights)
        return self._loss

    @property
    def loss(self) -> float:
        """Loss of the first start (the only one for ``train``)."""
        return float(self.losses[0])


Callback = Callable[[Progress], None]


@dataclass(frozen=True)
class TrainingResult:
    wx: float
    wrec: float
    loss: float
    iterations: int
    converged: bool
    diverged: bool
    trajectory: Trajectory | None


@dataclass(frozen=True)
class MultiStartResult:
    initial: Array
    weights: Array
    loss: Array
    converged: NDArray[np.bool_]
    diverged: NDArray[np.bool_]
    iterations: int
    trajectories: list[Trajectory]


def _run(
    dataset: Dataset,
    optimizer: Optimizer,
    starts: Array,
    iterations: int,
    tolerance: float | None,
    record: bool,
    callback: Callback | None,
) -> tuple[Array, int, NDArray[np.bool_], NDArray[np.bool_], Array | None, Oracle]:
    if iterations < 0:
        raise InvalidInputError("iterations", f"must be >= 0, got {iterations}")
    if tolerance is not None and not (np.isfinite(tolerance) and tolerance >= 0):
        raise InvalidInputError("tolerance", f"must be a finite number >= 0, got {tolerance}")
    if not np.isfinite(starts).all():
        raise InvalidInputError("initial", "weights must be finite")
    rtol = SIGN_RTOL if optimizer.sign_based else RTOL
    oracle = Oracle(dataset, rtol, evaluations=iterations * starts.shape[0])
    weights = starts.copy()
    state = None  # the optimiser makes it on its first step
    path = np.empty((iterations + 1, *weights.shape)) if record else None
    if path is not None:
        path[0] = weights
    done = 0
    converged = np.zeros(weights.shape[0], dtype=bool)
    if tolerance is not None:
        converged = oracle.losses(weights) <= tolerance
    diverged = np.zeros(weights.shape[0], dtype=bool)
    many = weights.shape[0] > 1
    with np.errstate(over="ignore", invalid="ignore"):
        while done < iterations and not (converged | diverged).all():
            checkpoint()
            done += 1
            before = weights.copy() if many else weights
            grad, loss = oracle.gradients(weights, with_loss=optimizer.needs_loss)
            state = optimizer.step(state, weights, grad, loss)
            if many:  # a start that converged or diverged stays where it stopped
                stopped = converged | diverged
                weights[stopped] = before[stopped]
            if path is not None:
                path[done] = weights
            if callback is not None:
                callback(Progress(done, iterations, weights, oracle))
            # Checked on the gradient's sum: one call, and non-finite whenever a part is.
            if not math.isfinite(grad.sum()) or tolerance is not None or not grad.any():
                diverged |= ~np.isfinite(weights).all(axis=1)
                stationary = (grad == 0).all(axis=1)
                if tolerance is not None:
                    stationary |= oracle.losses(weights) <= tolerance
                converged |= stationary & ~diverged
        diverged |= ~np.isfinite(weights).all(axis=1)
        converged &= ~diverged
    if path is not None:
        path = path[: done + 1]
    return weights, done, converged, diverged, path, oracle


def _trajectories(path: Array, oracle: Oracle) -> list[Trajectory]:
    steps, k, _ = path.shape
    losses = oracle.losses(path.reshape(-1, 2)).reshape(steps, k)
    return [
        Trajectory(path[:, i, 0].copy(), path[:, i, 1].copy(), losses[:, i].copy())
        for i in range(k)
    ]


def train(
    dataset: Dataset,
    optimizer: Optimizer,
    initial: tuple[float, float] = (-1.5, 2.0),
    iterations: int = 500,
    *,
    tolerance: float | None = None,
    record_trajectory: bool = True,
    callback: Callback | None = None,
) -> TrainingResult:
    """Optimise from one starting point; the tutorial's run is the default."""
    start = np.asarray([initial], dtype=np.float64)
    weights, done, converged, diverged, path, oracle = _run(
        dataset, optimizer, start, iterations, tolerance, record_trajectory, callback
    )
    final_loss = float(oracle.losses(weights)[0]) if np.isfinite(weights).all() else float("nan")
    trajectory = _trajectories(path, oracle)[0] if path is not None else None
    if trajectory is not None and np.isfinite(final_loss):
        trajectory.loss[-1] = final_loss  # the same number as the result's, to the bit
    return TrainingResult(
        float(weights[0, 0]),
        float(weights[0, 1]),
        final_loss,
        done,
        bool(converged[0]),
        bool(diverged[0]),
        trajectory,
    )


def train_many(
    dataset: Dataset,
    optimizer: Optimizer,
    starts: ArrayLike,
    iterations: int = 500,
    *,
    tolerance: float | None = None,
    record_trajectory: bool = True,
    callback: Callback | None = None,
) -> MultiStartResult:
    """Optimise from many starting points at once (rows of ``starts``), vectorised."""
    initial = np.asarray(starts, dtype=np.float64).reshape(-1, 2)
    if initial.shape[0] == 0:
        raise InvalidInputError("starts", "at least one starting point is required")
    weights, done, converged, diverged, path, oracle = _run(
        dataset, optimizer, initial, iterations, tolerance, record_trajectory, callback
    )
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(weights).all(axis=1)
        loss = np.full(weights.shape[0], np.nan)
        if finite.any():
            loss[finite] = oracle.losses(weights[finite])
    trajectories = _trajectories(path, oracle) if path is not None else []
    for trajectory, final in zip(trajectories, loss.tolist(), strict=True):
        if np.isfinite(final):
            trajectory.loss[-1] = final  # the same number as the result's, to the bit
    return MultiStartResult(initial, weights, loss, converged, diverged, done, trajectories)


def grid_starts(
    wx_range: tuple[float, float], wrec_range: tuple[float, float], nx: int, ny: int
) -> Array:
    """The points of a window as (nx * ny, 2) starts, wx varying fastest (``Window.points``).

    Row i * nx + j is (wx[j], wrec[i]): the layout of ``core.surface.loss_surface``'s
    ``loss[i, j]``, so a multi-start result lines up with the surface of the same window.
    """
    return Window.from_ranges(wx_range, wrec_range, nx, ny).points
