"""What a computation will cost, in seconds on a reference machine, by the path that runs it.

Callers that admit work from strangers (the service) compare these estimates with a
budget before computing. Each estimate follows the code path the computation takes:

- the statistics (``core.fastpath``, datasets up to ``MAX_FAST_WIDTH`` steps, or up to
  ``fast_width(evaluations)`` for training): one pass over the data, O(n T^2) for the
  Gram matrix and O(n T) besides, O(T^2) per block of it, and a coefficient table,
  O(T^2); then O(T) per point;
- the rows (``core.fastpath.rows``, loss surfaces past ``MAX_FAST_WIDTH`` and the cells
  the statistics leave unsure): O(n T) per wrec column for the polynomial values of
  every sequence, then O(1) per point, and the forward pass for the few points at
  float64's overflow edge;
- the forward pass vectorised over points (``core.model.losses_at``): O(n T P)
  arithmetic plus a fixed cost per timestep of each block;
- BPTT (``core.bptt.gradient``) at one point: O(n T) plus a fixed cost per timestep,
  which dominates for few long sequences (10,000 steps of 100 sequences: 0.03 s a point).

The constants were measured on a 2-core x86-64 machine (``python -m bench`` prints the
time of the largest admitted request of each endpoint next to its estimate) with a 1.5x
margin. They cannot foresee points the fast path hands to an exact fallback, so a caller
should also stop a computation that outlives its budget (``core.cancel``).
"""

from __future__ import annotations

import math

from core.fastpath import MAX_FAST_WIDTH
from core.fastpath.cache import fast_width
from core.fastpath.rows import rows_answer_grid

__all__ = [
    "bptt_seconds",
    "forward_seconds",
    "gradient_over_time_seconds",
    "point_seconds",
    "reference_point_seconds",
    "rows_surface_seconds",
    "statistics_point_seconds",
    "statistics_seconds",
    "surface_seconds",
    "training_seconds",
]

_BLOCK = 1 << 21  # scratch elements per block of the vectorised loops (core.model, core.bptt)
_MOMENTS_ROWS, _MOMENTS_ELEMENTS = 1 << 14, 1 << 22  # blocks of the one pass (moments)

FORWARD_CALL = 4.0e-5  # seconds per call of the forward pass
FORWARD_STEP = 2.5e-6  # seconds per timestep of one block of the forward pass
FORWARD_ELEMENT = 3.5e-9  # seconds per sequence x timestep x point
BPTT_CALL = 6.0e-5  # seconds per point of BPTT, whatever its size
BPTT_STEP = 2.2e-6  # seconds per timestep of one block of BPTT (forward and backward)
BPTT_ELEMENT = 1.1e-8  # seconds per sequence x timestep
GRAM_ELEMENT = 4.0e-11  # seconds per sequence x timestep^2 (the BLAS Gram pass)
PASS_ELEMENT = 1.0e-8  # seconds per sequence x timestep of the pass's other sums
BLOCK_SQUARE = 1.3e-8  # seconds per timestep^2 per block of the pass (adding its Gram)
TABLE_ELEMENT = 2.0e-8  # seconds per timestep^2 (the coefficient table)
POINT_STEP = 5.0e-8  # seconds per point x timestep of a polynomial evaluation
POINT_CALL = 2.0e-4  # seconds of one point from the statistics (NumPy's fixed costs: ~90-130 us)
TRAIN_ITERATION = 3.0e-5  # seconds of the training loop's own work per iteration
GRID_STEP = 7.5e-7  # seconds per wrec row x 2 timesteps of a surface from the statistics
ROW_ELEMENT = 2.0e-9  # seconds per sequence x timestep x wrec column of the rows
POWER_STEP = 8.0e-8  # seconds per timestep x wrec column (the powers of wrec)
ROW_POINT = 2.0e-7  # seconds per point of a surface from the rows
EDGE_POINTS = 256  # points of a surface allowed for the forward pass at the overflow edge
UNSURE_COLUMNS = 8  # wrec columns allowed for the rows after the statistics


def forward_seconds(n_samples: int, width: int, points: int = 1) -> float:
    """The loss at ``points`` points by the forward pass."""
    rows = max(1, min(n_samples, _BLOCK // max(1, width)))
    per_block = max(1, _BLOCK // rows)
    blocks = math.ceil(n_samples / rows) * math.ceil(points / per_block)
    elements = n_samples * width * points
    return FORWARD_CALL + blocks * width * FORWARD_STEP + elements * FORWARD_ELEMENT


def bptt_seconds(n_samples: int, width: int, points: int = 1) -> float:
    """Loss and gradient (with the trace) at ``points`` points, one BPTT each."""
    blocks = math.ceil(n_samples / max(1, _BLOCK // (width + 1)))
    per_point = BPTT_CALL + blocks * width * BPTT_STEP + n_samples * width * BPTT_ELEMENT
    return points * per_point


def statistics_seconds(n_samples: int, width: int) -> float:
    """Building the fast path's statistics of a dataset (once per dataset)."""
    rows = max(1, min(_MOMENTS_ROWS, _MOMENTS_ELEMENTS // max(1, width)))
    blocks = math.ceil(n_samples / rows)
    one_pass = n_samples * width * (width * GRAM_ELEMENT + PASS_ELEMENT)
    return one_pass + width**2 * (blocks * BLOCK_SQUARE + TABLE_ELEMENT)


def _rows_columns_seconds(n_samples: int, width: int, columns: int) -> float:
    return columns * width * (n_samples * ROW_ELEMENT + POWER_STEP)


def rows_surface_seconds(n_samples: int, width: int, nx: int, ny: int) -> float:
    """A loss surface from the rows: every column, every point, and an edge of forward passes."""
    edge = forward_seconds(n_samples, width, min(nx * ny, EDGE_POINTS))
    columns = _rows_columns_seconds(n_samples, width, ny)
    return columns + nx * ny * ROW_POINT + edge


def surface_seconds(n_samples: int, width: int, nx: int, ny: int) -> float:
    """A loss surface of nx x ny points by the path that computes it.

    Up to MAX_FAST_WIDTH steps the statistics are built (once per dataset, which later
    points and training reuse), and the grid comes from them, with a few columns of rows
    allowed for the cells they leave unsure, or from the rows where those cost less
    (``rows_answer_grid``); wider datasets take the rows.
    """
    if width > MAX_FAST_WIDTH:
        return rows_surface_seconds(n_samples, width, nx, ny)
    if rows_answer_grid(n_samples, width, nx):
        return statistics_seconds(n_samples, width) + rows_surface_seconds(n_samples, width, nx, ny)
    evaluation = ny * 2 * width * GRID_STEP + nx * ny * POINT_STEP
    unsure = _rows_columns_seconds(n_samples, width, min(ny, UNSURE_COLUMNS))
    return statistics_seconds(n_samples, width) + evaluation + unsure


def gradient_over_time_seconds(n_samples: int, width: int, points: int) -> float:
    """dξ/dS_k at ``points`` points: the statistics, or one BPTT per point past the fast path."""
    if width <= MAX_FAST_WIDTH:
        return statistics_seconds(n_samples, width) + points * 2 * width * POINT_STEP
    return bptt_seconds(n_samples, width, points)


def training_seconds(n_samples: int, width: int, iterations: int, starts: int = 1) -> float:
    """``core.training`` for ``iterations`` iterations from ``starts`` points, trajectory kept.

    Each iteration evaluates the gradient at every start (the statistics' polynomials, or
    one BPTT per start past the widest statistics that its iterations repay); the recorded
    path's losses are evaluated once at the end (by the statistics, or the forward pass).
    """
    points = (iterations + 1) * starts
    if width <= fast_width(iterations * starts):
        per_iteration = starts * 2 * width * POINT_STEP
        setup = statistics_seconds(n_samples, width)
        path = points * 2 * width * POINT_STEP
    else:
        per_iteration = bptt_seconds(n_samples, width, starts)
        setup = 0.0
        path = forward_seconds(n_samples, width, points)
    return setup + iterations * (TRAIN_ITERATION + per_iteration) + path


def point_seconds(n_samples: int, width: int, *, with_gradient: bool) -> float:
    """Loss (and gradient) at one point by ``core.point``: the reference path, or the
    statistics (computed first) where those cost less; at worst both run, the statistics
    and then the reference where they cannot vouch for the value.
    """
    reference = reference_point_seconds(n_samples, width, with_gradient=with_gradient)
    fast = statistics_point_seconds(n_samples, width, with_gradient=with_gradient)
    return reference if fast is None or reference <= fast else fast + reference


def reference_point_seconds(n_samples: int, width: int, *, with_gradient: bool) -> float:
    """One point by the forward pass (the loss) or BPTT (loss and gradient)."""
    if with_gradient:
        return bptt_seconds(n_samples, width)
    return forward_seconds(n_samples, width)


def statistics_point_seconds(
    n_samples: int, width: int, *, with_gradient: bool, known: bool = False
) -> float | None:
    """One point from the statistics (``known``: already computed), or None past their width."""
    if width > MAX_FAST_WIDTH:
        return None
    evaluation = POINT_CALL + 2 * width * POINT_STEP
    return evaluation if known else statistics_seconds(n_samples, width) + evaluation
