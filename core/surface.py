"""Loss surfaces over rectangles of (wx, wrec) and the gradient over time at chosen points."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from core.bptt import gradient
from core.datasets import Dataset
from core.errors import InvalidInputError
from core.fastpath import MAX_FAST_WIDTH, enabled, evaluate, grid_losses, statistics
from core.fastpath.rows import (
    grid_losses_by_rows,
    rows_answer_grid,
    rows_answer_rows,
    settle_cheapest,
)
from core.model import losses_at
from core.window import Window

__all__ = [
    "TUTORIAL_POINTS",
    "GradientOverTime",
    "LossSurface",
    "evaluation_cost",
    "gradient_over_time",
    "loss_grid",
    "loss_surface",
    "loss_surface_on",
]

# The points the tutorial annotates on its surface and samples the gradient at.
TUTORIAL_POINTS: tuple[tuple[float, float], ...] = (
    (2.0, 1.0),
    (1.0, 2.0),
    (1.0, -2.0),
    (1.0, 0.0),
    (1.0, 0.5),
    (1.0, -0.5),
)


@dataclass(frozen=True)
class LossSurface:
    """loss[i, j] is the loss at (wx[j], wrec[i]); inf/nan where float64 overflowed."""

    wx: NDArray[np.float64]
    wrec: NDArray[np.float64]
    loss: NDArray[np.float64]
    min_wx: float
    min_wrec: float
    min_loss: float
    overflow: bool


@dataclass(frozen=True)
class GradientOverTime:
    """grads[p, k] = dξ/dS_k summed over sequences, at points[p], for k = 0..T."""

    points: NDArray[np.float64]
    timesteps: NDArray[np.int64]
    grads: NDArray[np.float64]


def evaluation_cost(n_samples: int, width: int, points: int) -> int:
    """Rough count of arithmetic operations to evaluate the loss at ``points`` points.

    Up to MAX_FAST_WIDTH steps: one pass building the statistics (n x width^2), then O(width)
    per point; wider datasets: the forward pass at every point (points x n x width). The
    few points the fast path cannot vouch for go to BPTT and are not counted.
    """
    if width <= MAX_FAST_WIDTH:
        return n_samples * width * width + points * 2 * width
    return points * n_samples * width


def loss_grid(
    dataset: Dataset, wx: NDArray[np.float64], wrec: NDArray[np.float64]
) -> NDArray[np.float64]:
    """The loss at every (wx[j], wrec[i]): statistics where they vouch, else the rows.

    The statistics are built once per dataset (later points and training reuse them);
    the cells they leave unsure take the rows (``core.fastpath.rows``: polynomial values
    once per wrec column), or the exact fallback where that is cheaper. Where the rows
    cost less for the whole grid (few long sequences), and for wide datasets, which have
    no statistics, every cell takes the rows; with the fast path off
    (``core.fastpath.disabled``) every cell is the forward pass, the reference.
    """
    if not enabled():
        return losses_at(dataset, wx[None, :], wrec[:, None])
    stats = statistics(dataset)
    if stats is None or rows_answer_grid(dataset.n_samples, dataset.width, wx.size):
        return grid_losses_by_rows(dataset, wx, wrec)
    whole_rows = rows_answer_rows(dataset.n_samples, dataset.width, wx.size)
    grid, unsure = grid_losses(stats, wx, wrec, cells=not whole_rows)
    if unsure is not None:
        rows, cols = np.nonzero(unsure)
        grid[rows, cols] = settle_cheapest(stats, dataset, wx[cols], wrec[rows])
    return grid


def loss_surface(
    dataset: Dataset,
    wx_range: tuple[float, float] = (-3.0, 3.0),
    wrec_range: tuple[float, float] = (-3.0, 3.0),
    nx: int = 50,
    ny: int = 50,
) -> LossSurface:
    """The loss on an nx x ny grid of evenly spaced points, with its minimum on the grid."""
    return loss_surface_on(dataset, Window.from_ranges(wx_range, wrec_range, nx, ny))


def loss_surface_on(dataset: Dataset, window: Window) -> LossSurface:
    """The loss at every point of ``window``, with its minimum over those points."""
    wx, wrec = window.wx, window.wrec
    loss = loss_grid(dataset, wx, wrec)
    overflow = not bool(np.isfinite(loss).all())
    flat = int(np.argmin(np.where(np.isnan(loss), np.inf, loss) if overflow else loss))
    i, j = np.unravel_index(flat, loss.shape)
    if np.isfinite(loss[i, j]):
        minimum = (float(wx[j]), float(wrec[i]), float(loss[i, j]))
    else:
        minimum = (float("nan"),) * 3
    return LossSurface(wx, wrec, loss, *minimum, overflow)


def gradient_over_time(
    dataset: Dataset, points: Sequence[tuple[float, float]] = TUTORIAL_POINTS
) -> GradientOverTime:
    """dξ/dS_k summed over sequences, k = 0..T, at each point.

    It is 2 mean(y - t) wrec^(T - k): one geometric sequence per point, exploding for
    |wrec| > 1 and vanishing for |wrec| < 1, as the tutorial's figure shows.
    """
    if len(points) == 0:
        raise InvalidInputError("points", "at least one point is required")
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if not np.isfinite(pts).all():
        raise InvalidInputError("points", "coordinates must be finite")
    T = dataset.width
    grads = np.empty((len(pts), T + 1))
    unsure = np.ones(len(pts), dtype=bool)
    stats = statistics(dataset)
    if stats is not None:  # every point in one evaluation
        ev = evaluate(stats, pts[:, 0], pts[:, 1])
        unsure = ~ev.residual_sure
        with np.errstate(over="ignore", invalid="ignore"):
            powers = pts[:, 1, None] ** np.arange(T, -1, -1, dtype=np.float64)
            grads[:] = 2.0 * ev.mean_residual[:, None] * powers
    for p in np.flatnonzero(unsure).tolist():
        grads[p] = gradient(dataset, float(pts[p, 0]), float(pts[p, 1])).trace
    return GradientOverTime(pts, np.arange(T + 1), grads)
