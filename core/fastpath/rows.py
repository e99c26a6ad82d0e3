"""Losses at any points from the per-column polynomial values, the way the forward pass has them.

Each point takes the first of these that answers it:

1. the loss written around its column's least-squares weight c0,

       loss = mean(e^2) - 2 d mean(e P) + d^2 mean(P^2),   d = wx |r|^(T-1) - c0,

   O(1) a point (core.fastpath.columns keeps the means). mean(e P) is near zero, so the
   terms do not cancel, as they do in the plain expansion around wx = 0 in the valley;
   its rounding bound is the residuals', carried through Cauchy-Schwarz. The point is
   vouched for when the bound is within RTOL of the loss, or within the forward pass's
   own rounding allowance there (the accuracy contract of a reference answer);
2. the residual form mean (t_i - wx P_i)^2, O(n) a point: the forward pass's arithmetic
   with P from the powers, and its sum scaled by 2^-16 near float64's largest value;
3. the forward pass itself (core.model.losses_at), for the few points whose float64
   sums may or may not overflow, or where underflow could matter.

Float64's edges come out exactly as in the forward pass: a loss is inf where some
residual's square or the sum of the squares surely overflows, and such points are never
NaN, because no product wx x_ik overflows where this module answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from core.cancel import checkpoint
from core.datasets import Dataset
from core.fastpath.bounds import RTOL, UNDERFLOW
from core.fastpath.columns import Columns, block_rows, columns, polynomial_gamma, powers
from core.fastpath.exact import settle
from core.model import losses_at

if TYPE_CHECKING:
    from core.fastpath.statistics import Statistics

__all__ = [
    "grid_losses_by_rows",
    "row_losses",
    "rows_answer_grid",
    "rows_answer_rows",
    "settle_cheapest",
]

Array = NDArray[np.float64]
Index = NDArray[np.intp]

_EPS = float(np.finfo(np.float64).eps)
_MAX = float(np.finfo(np.float64).max)
# |wx| max|x| below 2^_SAFE_LOG2: no product of the forward pass overflows, so no NaN.
_SAFE_LOG2 = 1020.0
# A residual below 2^_STATE_LOG2 has a finite square; one beyond 2^512 does not.
_STATE_LOG2 = 511.99
_NEAR = 2.0**-20  # relative margin around float64's largest sum
_PRESCALE = 2.0**-16  # residuals near overflow are summed scaled by this, exactly
_GRID_BLOCK = 1 << 18  # points of a grid evaluated at once


@dataclass(frozen=True)
class _Data:
    """What every point needs from the data besides its column."""

    n: int
    width: int
    tt: float  # mean t^2
    log2_t_max: float
    log2_x_max: float
    underflow: float  # what underflow can take from one P_i (over the divisor)

    @classmethod
    def of(cls, dataset: Dataset) -> _Data:
        t = dataset.targets
        x_max = float(np.abs(dataset.inputs).max(initial=0))
        t_max = float(np.abs(t).max(initial=0.0))
        with np.errstate(divide="ignore"):
            return cls(
                dataset.n_samples,
                dataset.width,
                float(np.mean(t * t)),
                float(np.log2(t_max)),
                float(np.log2(x_max)),
                dataset.width * x_max * UNDERFLOW,
            )


def row_losses(dataset: Dataset, wx: Array, wrec: Array) -> Array:
    """The loss at points (wx[p], wrec[p]) of finite weights; points sharing a wrec share
    one column of polynomial values."""
    wx = np.asarray(wx, dtype=np.float64).ravel()
    wrec = np.asarray(wrec, dtype=np.float64).ravel()
    if wx.size == 0:
        return np.empty(0)
    unique, column = np.unique(wrec, return_inverse=True)
    data, cols = _Data.of(dataset), columns(dataset, unique)
    out, residual = _from_columns(data, cols.take(column), wx)
    _settle_rest(dataset, data, cols, wx, column, out, np.flatnonzero(residual))
    return out


def grid_losses_by_rows(dataset: Dataset, wx: Array, wrec: Array) -> Array:
    """The loss at every (wx[j], wrec[i]): one column per wrec, broadcast against wx in
    blocks of rows, so that the scratch stays a few times _GRID_BLOCK elements."""
    unique, column = np.unique(wrec, return_inverse=True)
    data, cols = _Data.of(dataset), columns(dataset, unique)
    out = np.empty((wrec.size, wx.size))
    step = max(1, _GRID_BLOCK // max(1, wx.size))
    for start in range(0, wrec.size, step):
        checkpoint()
        block = column[start : start + step]
        values, residual = _from_columns(data, cols.take(block[:, None]), wx[None, :])
        flat = values.reshape(-1)
        rest = np.flatnonzero(residual | np.isnan(values))
        i, j = np.divmod(rest, wx.size)
        picked = flat[rest]
        needs = np.flatnonzero(residual.reshape(-1)[rest])
        _settle_rest(dataset, data, cols, wx[j], block[i], picked, needs)
        flat[rest] = picked
        out[start : start + step] = values
    return out


def _settle_rest(
    dataset: Dataset,
    data: _Data,
    cols: Columns,
    wx: Array,
    column: Index,
    out: Array,
    residual: Index,
) -> None:
    """Fill ``out``'s NaN points: the residual form at ``residual``, then the forward pass."""
    if residual.size:
        out[residual] = _residuals(dataset, data, cols, wx[residual], column[residual])
    rest = np.flatnonzero(np.isnan(out))
    if rest.size:
        out[rest] = losses_at(dataset, wx[rest], cols.wrec[column[rest]])


def _from_columns(data: _Data, cols: Columns, wx: Array) -> tuple[Array, NDArray[np.bool_]]:
    """The loss where the shifted form vouches or it surely overflows (NaN elsewhere),
    and where the residual form should answer (the loss surely finite).

    ``cols`` and ``wx`` broadcast against each other: gathered per point, or a grid.
    """
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        log2_w = np.log2(np.abs(wx))
        c = np.where(wx == 0, 0.0, wx * cols.scale)  # the weight on the divided P_i
        log2_c = log2_w + cols.log2_scale
        no_nan = (log2_w + data.log2_x_max < _SAFE_LOG2) & (data.log2_t_max < _STATE_LOG2 - 20)
        # Every state and residual below |c| A_max + |t|: their squares are finite.
        states = (log2_c + np.log2(cols.a_max) <= _STATE_LOG2) & np.isfinite(c) & no_nan
        beyond = log2_c + np.log2(np.maximum(cols.d_max, 0.0)) > _STATE_LOG2 + 0.02
        value, bound = _shifted(data, cols, c)
        # With finite squares the forward pass's sum overflows just when n * loss does.
        limit = _MAX / data.n
        finite = states & (value + bound < limit * (1.0 - _NEAR))
        overflows = states & np.isfinite(bound) & (value - bound > limit * (1.0 + _NEAR))
        reference = _reference_rounding(data, cols, c)
        sure = finite & (value >= 0) & ((bound <= RTOL * value) | (bound <= reference))
        inf = overflows | (beyond & no_nan & ~states)
        out = np.where(sure, value, np.where(inf, np.inf, np.nan))
    return out, states & ~sure & ~overflows


def _shifted(data: _Data, cols: Columns, c: Array) -> tuple[Array, Array]:
    """mean(e^2) - 2 d mean(e P) + d^2 mean(P^2), d = c - c0, and its rounding bound.

    The e_i and P_i are off by at most g A_i (times |c0|) plus underflow: by
    Cauchy-Schwarz each mean is off by RMS errors times RMS values; then the few
    operations combining them, and c's own rounding times the loss's slope in c.
    """
    g, eps, n = polynomial_gamma(data.width), _EPS, data.n
    l0, ep, p2, a2 = cols.l0, cols.ep, cols.p2, cols.a2
    root_l0, root_p2, root_a2 = np.sqrt(l0), np.sqrt(p2), np.sqrt(a2)
    off = g * root_a2 + data.underflow  # RMS error of the P_i
    rms_e = np.abs(cols.c0) * off + eps * root_l0  # RMS error of the e_i
    k0 = 2.0 * root_l0 * rms_e + rms_e * rms_e + (n + 8) * eps * l0 + 4.0 * UNDERFLOW
    k1 = 2.0 * (rms_e * root_p2 + root_l0 * off + (n + 2) * eps * root_l0 * root_p2)
    k1 = k1 + 12.0 * eps * np.abs(ep)
    k2 = 2.0 * root_p2 * off + off * off + (n + 8) * eps * p2
    slope = 8.0 * eps * root_a2  # |c| times this bounds c's rounding's effect, per RMS residual
    d = c - cols.c0
    ad = np.abs(d)
    value = (l0 - 2.0 * d * ep) + d * d * p2
    bound = k0 + ad * (k1 + ad * k2) + np.abs(c) * slope * (root_l0 + ad * root_p2)
    return value, bound


def _reference_rounding(data: _Data, cols: Columns, c: Array) -> Array:
    """The forward pass's own rounding allowance: a float pass of T steps over n
    sequences, (4T + 2n + 16) eps times mean (|wx| A_i + |t_i|)^2."""
    ac = np.abs(c)
    magnitude = ac * (ac * cols.a2 + 2.0 * cols.at) + data.tt
    return np.asarray((4 * data.width + 2 * data.n + 16) * _EPS * magnitude)


def _residuals(dataset: Dataset, data: _Data, cols: Columns, wx: Array, column: Index) -> Array:
    """mean_i (t_i - wx P_i)^2 at each point (inf where the forward pass's sum overflows),
    NaN where its bound exceeds the forward pass's own rounding or overflow is undecided.

    Near overflow the residuals are scaled by 2^-16 first (exactly), so that their sum
    can be told from float64's largest value.
    """
    used, local = np.unique(column, return_inverse=True)
    V, _, _ = powers(cols.wrec[used], data.width)
    at = cols.take(column)
    n = data.n
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        c = np.where(wx == 0, 0.0, wx * at.scale)
        ac = np.abs(c)
        near = np.log2(ac) + np.log2(at.a_max) > _STATE_LOG2 - 16.0
        f = np.where(near, _PRESCALE, 1.0)
        fc, ft = f * c, f[None, :]
        total = np.zeros(wx.size)
        for X, t in dataset.chunks(block_rows(dataset, data.width + used.size + wx.size)):
            checkpoint()
            P = X @ V
            residual = t[:, None] * ft - P[:, local] * fc[None, :]
            total += np.einsum("ij,ij->j", residual, residual)
        loss = total / n  # times f^2
        off = f * (polynomial_gamma(data.width) * ac * np.sqrt(at.a2) + data.underflow * ac)
        bound = 2.0 * np.sqrt(loss) * off + off * off + (n + 4) * _EPS * loss + 4.0 * UNDERFLOW
        limit = f * f * (_MAX / n)
        finite = loss + bound < limit * (1.0 - _NEAR)
        overflows = loss - bound > limit * (1.0 + _NEAR)
        loss, bound = loss / (f * f), bound / (f * f)
        reference = _reference_rounding(data, at, c)
        ok = finite & ((bound <= RTOL * loss) | (bound <= reference))
    return np.asarray(np.where(ok, loss, np.where(overflows, np.inf, np.nan)), dtype=np.float64)


# Costs measured on one machine (seconds, no margin: they only choose between methods):
_EXACT_STEP2 = 6e-8  # one exact loss, per timestep^2 (big integers growing with T)
_ROW_ELEMENT = 8e-10  # one column of polynomial values, per sequence x timestep
_COLUMN_STEP = 4e-8  # one column's powers, per timestep
_POINT = 1e-7  # one point from the columns
_CELL_STEP = 3.5e-7  # checking one wrec row's cells from the statistics, per timestep
_GRID_STEP = 3.4e-7  # one wrec row of a grid from the statistics, per timestep
_GRID_CELL = 3e-8  # one cell of a grid from the statistics


def rows_answer_grid(n_samples: int, width: int, nx: int) -> bool:
    """Whether a grid of nx points a row costs less from the rows (a column of polynomial
    values per row, O(n T), then O(1) a point) than from the statistics (O(T) a row)."""
    rows = width * (n_samples * _ROW_ELEMENT + _COLUMN_STEP) + nx * _POINT
    return rows < width * _GRID_STEP + nx * _GRID_CELL


def rows_answer_rows(n_samples: int, width: int, nx: int) -> bool:
    """Whether a wrec row the statistics do not vouch for as a whole costs less from the
    rows (a column of polynomial values, O(n T)) than checked cell by cell (O(T))."""
    return width * (n_samples * _ROW_ELEMENT + _COLUMN_STEP) + nx * _POINT < width * _CELL_STEP


def settle_cheapest(stats: Statistics, dataset: Dataset, wx: Array, wrec: Array) -> Array:
    """Losses at points the statistics left unsure, by the cheaper method per column.

    Exact big-integer arithmetic (``settle``; bits with integer targets) is correctly
    rounded and costs O(T^2) per point; the rows cost O(n T) per column and O(1) per
    point, at the forward pass's accuracy. Each wrec column takes the cheaper one.
    """
    out = np.empty(wx.size)
    n, T = dataset.n_samples, dataset.width
    unique, column, counts = np.unique(wrec, return_inverse=True, return_counts=True)
    if stats.exact is None:
        by_exact = np.zeros(unique.size, dtype=bool)
    else:
        exact_cost = counts * (_EXACT_STEP2 * T * T)
        rows_cost = T * (n * _ROW_ELEMENT + _COLUMN_STEP) + counts * _POINT
        by_exact = exact_cost < rows_cost
    exact_points = by_exact[column]
    if exact_points.any():
        out[exact_points] = settle(stats, dataset, wx[exact_points], wrec[exact_points])
    if not exact_points.all():
        out[~exact_points] = row_losses(dataset, wx[~exact_points], wrec[~exact_points])
    return out
