"""Losses from each sequence's polynomial value, computed once per wrec column.

The output of sequence i is y_i = wx P_i(wrec), P_i(r) = sum_k x_ik r^(T - k), so every
point of one wrec column shares the values P_i: one BLAS product of the inputs with a
matrix of powers gives them for many columns at once, O(n T) per column instead of per
point. A point then costs O(1) by the expanded form

    loss = wx^2 mean(P^2) - 2 wx mean(t P) + mean(t^2),

where its rounding bound vouches for it (RTOL), and O(n) by the residual form
mean (t_i - wx P_i)^2 elsewhere: the forward pass's own arithmetic with P from the
powers, whose rounding stays within the forward pass's own rounding (it settles the
valley, where the expanded form cancels). Points near float64's overflow go to the
forward pass itself, so inf and nan come out exactly as there; points whose loss surely
overflows are inf without asking it.

For |r| > 1 the powers are divided by |r|^(T - 1), so they never overflow; the divisor
is multiplied back into wx where the result stays finite.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from core.cancel import checkpoint
from core.datasets import Dataset
from core.fastpath.bounds import RTOL, UNDERFLOW
from core.fastpath.exact import settle
from core.model import losses_at

if TYPE_CHECKING:
    from core.fastpath.statistics import Statistics

__all__ = ["Columns", "columns", "grid_losses_by_rows", "row_losses", "settle_cheapest"]

Array = NDArray[np.float64]

_EPS = float(np.finfo(np.float64).eps)
# Scratch elements per block of sequences (inputs, polynomial values, residuals): ~16 MB.
_BLOCK_ELEMENTS = 1 << 21
# log2 bounds: a product clear of overflow; a residual whose square is clear of it (and
# one above its next power of two whose square is not); float64's largest sum.
_SAFE_LOG2 = 1020.0
_STATE_LOG2 = 511.99
_SUM_LOG2 = 1024.0


@dataclass(frozen=True)
class Columns:
    """Per-column summaries of the polynomial values, in units of the divisor |r|^(T - 1).

    ``scale`` is the divisor (inf where it overflows), ``log2_scale`` its log2. Means are
    over sequences: p2 = mean P^2, tp = mean t P, a2 = mean A^2, at = mean A |t|, with
    A_i = sum_k |x_ik| |r|^(T - k) bounding P_i's terms; ``a_max`` bounds every state of
    the forward pass (over the divisor), ``d_max`` is a certain lower bound of max_i |P_i|.
    """

    wrec: Array
    scale: Array
    log2_scale: Array
    p2: Array
    tp: Array
    a2: Array
    at: Array
    a_max: Array
    d_max: Array
    c0: Array  # the column's least-squares weight on P (over the divisor): the shift
    l0: Array  # mean e^2, e_i = t_i - c0 P_i: the column's lowest loss
    ep: Array  # mean e P, near zero: the expanded form around c0 does not cancel


def _powers(wrec: Array, width: int) -> tuple[Array, Array, Array]:
    """V[k, j] = wrec_j^(T - 1 - k) / max(1, |wrec_j|)^(T - 1), the divisor and its log2.

    Each entry is one ``pow`` (within an ulp), so it adds no error growing with k.
    """
    k = np.arange(width, dtype=np.float64)[:, None]
    r = wrec[None, :]
    big = np.abs(r) > 1.0
    with np.errstate(divide="ignore", over="ignore", under="ignore", invalid="ignore"):
        plain = np.power(np.where(big, 1.0, r), (width - 1) - k)
        # |r| > 1: sign^(T - 1 - k) |r|^(-k); exponents are integers, so the sign is exact.
        odd = ((width - 1) - k) % 2 == 1
        shrunk = np.power(np.where(big, np.abs(r), 2.0), -k)
        shrunk = np.where(odd & (r < 0), -shrunk, shrunk)
        V = np.where(big, shrunk, plain)
        absr = np.abs(wrec)
        scale = np.where(absr > 1.0, np.power(absr, float(width - 1)), 1.0)
        log2_scale = np.where(absr > 1.0, (width - 1) * np.log2(np.where(absr > 1, absr, 2.0)), 0.0)
    return V, scale, log2_scale


def _blocks(dataset: Dataset, per_row: int) -> int:
    """Sequences per block so that a block's scratch stays near _BLOCK_ELEMENTS."""
    return max(1, min(dataset.n_samples, _BLOCK_ELEMENTS // max(1, per_row)))


def polynomial_gamma(width: int) -> float:
    """Relative bound of one P_i (over A_i): T - 1 products summed, powers within 2 ulps,
    the divisor and wx multiplied back in; the same whatever the BLAS summation order."""
    return 1.01 * (width + 8) * _EPS


def columns(dataset: Dataset, wrec: Array) -> Columns:
    """The summaries of every column wrec[j]: two passes over the data, in blocks.

    The second pass takes the residuals at each column's least-squares weight; when the
    data is one block, the polynomial values of the first are kept for it.
    """
    n, T = dataset.n_samples, dataset.width
    V, scale, log2_scale = _powers(wrec, T)
    V_abs = np.abs(V)
    m = wrec.size
    p2, tp, a2, at, a_max, d_max = (np.zeros(m) for _ in range(6))
    g = polynomial_gamma(T)
    signed = (not dataset.is_binary) or bool((V < 0).any())
    small = np.abs(wrec) <= 1.0
    rows = _blocks(dataset, T + 2 * m)
    kept: list[tuple[Array, Array]] = []
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        for X, t in dataset.chunks(rows):
            checkpoint()
            P = X @ V
            A = np.abs(X) @ V_abs if signed else P
            p2 += np.einsum("ij,ij->j", P, P)
            tp += t @ P
            a2 += np.einsum("ij,ij->j", A, A)
            at += np.abs(t) @ A
            a_max = np.maximum(a_max, A.max(axis=0))
            d_max = np.maximum(d_max, (np.abs(P) - g * A).max(axis=0))
            # |r| <= 1: a state before the last can exceed A_i, never sum_k |x_ik|.
            row_abs = np.abs(X).sum(axis=1).max()
            a_max = np.where(small, np.maximum(a_max, row_abs), a_max)
            if rows >= n:
                kept.append((P, t))
        c0 = np.where(p2 > 0, tp / np.where(p2 > 0, p2, 1.0), 0.0)
        c0 = np.where(np.isfinite(c0), c0, 0.0)
        l0, ep = np.zeros(m), np.zeros(m)
        blocks = kept or ((X @ V, t) for X, t in dataset.chunks(rows))
        for P, t in blocks:
            checkpoint()
            e = t[:, None] - P * c0
            l0 += np.einsum("ij,ij->j", e, e)
            ep += np.einsum("ij,ij->j", e, P)
    return Columns(
        wrec, scale, log2_scale, p2 / n, tp / n, a2 / n, at / n, a_max, d_max, c0, l0 / n, ep / n
    )


@dataclass(frozen=True)
class _Data:
    """What every point needs from the data besides its column: constants over sequences."""

    n: int
    width: int
    tt: float  # mean t^2
    log2_t_max: float
    log2_x_max: float

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
            )


def row_losses(dataset: Dataset, wx: Array, wrec: Array) -> Array:
    """The loss at points (wx[p], wrec[p]), finite weights, the way the forward pass has it.

    Points sharing a wrec share one column of polynomial values.
    """
    wx = np.asarray(wx, dtype=np.float64).ravel()
    wrec = np.asarray(wrec, dtype=np.float64).ravel()
    out = np.empty(wx.size)
    if wx.size == 0:
        return out
    unique, column = np.unique(wrec, return_inverse=True)
    data = _Data.of(dataset)
    cols = columns(dataset, unique)
    out[:] = np.nan
    todo = _from_columns(data, cols, wx, column, out)
    if todo.size:
        out[todo] = _residuals(dataset, cols, wx[todo], column[todo], data)
    todo = np.flatnonzero(np.isnan(out))
    if todo.size:
        out[todo] = losses_at(dataset, wx[todo], wrec[todo])
    return out


def grid_losses_by_rows(dataset: Dataset, wx: Array, wrec: Array) -> Array:
    """The loss at every (wx[j], wrec[i]) by ``row_losses``: one column per wrec."""
    loss = row_losses(dataset, np.tile(wx, wrec.size), np.repeat(wrec, wx.size))
    return loss.reshape(wrec.size, wx.size)


def _from_columns(
    data: _Data, cols: Columns, wx: Array, column: NDArray[np.intp], out: Array
) -> NDArray[np.intp]:
    """Fill ``out`` where the shifted form vouches or the loss surely overflows.

    Returns the points left for the residual form (their loss surely finite) and, with
    ``out`` NaN, those left for the forward pass: the few whose float64 sums may or may
    not overflow.
    """
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        log2_w = np.log2(np.abs(wx))
        # c = wx |r|^(T - 1): the weight on the divided polynomial values.
        c = np.where(wx == 0, 0.0, wx * cols.scale[column])
        log2_c = log2_w + cols.log2_scale[column]
        # wx x never overflows, so no state is NaN: a loss beyond float64 is inf.
        no_nan = (log2_w + data.log2_x_max < _SAFE_LOG2) & (data.log2_t_max < _STATE_LOG2 - 8)
        # Every state and residual below |wx| A_max |r|^(T - 1) + |t|: their squares are finite.
        upper = np.logaddexp2(log2_c + np.log2(cols.a_max[column]), data.log2_t_max)
        states = (upper <= _STATE_LOG2) & np.isfinite(c) & no_nan
        # Else some residual surely beyond 2^512 (|t| is far below): its square overflows.
        beyond = log2_c + np.log2(np.maximum(cols.d_max[column], 0.0)) > _STATE_LOG2 + 0.02
        value, bound = _shifted(data, cols, c, column)
        # With finite squares the forward pass's sum overflows just when n * loss does.
        log2_n = float(np.log2(data.n))
        finite = states & (log2_n + np.log2(value + bound) < _SUM_LOG2 - 0.01)
        overflows = states & (log2_n + np.log2(value - bound) > _SUM_LOG2 + 0.01)
        overflows &= np.isfinite(bound)
        out[(beyond & no_nan & ~states) | overflows] = np.inf
        sure = finite & (value >= 0)
        sure &= (bound <= RTOL * value) | (bound <= _reference_rounding(data, cols, c, column))
        out[sure] = value[sure]
    return np.flatnonzero(states & ~sure & ~overflows)


def _shifted(data: _Data, cols: Columns, c: Array, column: NDArray[np.intp]) -> tuple[Array, Array]:
    """The loss l0 - 2 d mean(e P) + d^2 mean(P^2), d = c - c0, and its rounding bound.

    Around the column's least-squares weight mean(e P) is near zero, so the terms never
    cancel: the error is that of the residuals e_i (the forward pass's own), carried
    through the Cauchy-Schwarz inequality, plus the few operations combining them.
    """
    c0, l0, ep, p2, a2 = (x[column] for x in (cols.c0, cols.l0, cols.ep, cols.p2, cols.a2))
    d = c - c0
    value = (l0 - 2.0 * d * ep) + d * d * p2
    g, eps, n = polynomial_gamma(data.width), _EPS, data.n
    u = data.width * float(np.exp2(data.log2_x_max)) * UNDERFLOW  # each P_i's underflow
    off = g * np.sqrt(a2) + u  # RMS error of the P_i
    rms_e = np.abs(c0) * off + eps * np.sqrt(l0)  # RMS error of the e_i
    err_l0 = 2.0 * np.sqrt(l0) * rms_e + rms_e * rms_e + (n + 2) * eps * l0
    err_ep = rms_e * np.sqrt(p2) + np.sqrt(l0) * off + (n + 2) * eps * np.sqrt(l0 * p2)
    err_p2 = 2.0 * np.sqrt(p2) * off + off * off + (n + 2) * eps * p2
    ad = np.abs(d)
    terms = l0 + 2.0 * ad * np.abs(ep) + d * d * p2
    bound = err_l0 + 2.0 * ad * err_ep + d * d * err_p2 + 6.0 * eps * terms
    # c itself is wx |r|^(T - 1) within two roundings: that moves the loss by its slope.
    bound += 8.0 * eps * np.abs(c) * np.sqrt(np.abs(value) * a2) + 4.0 * UNDERFLOW
    return value, bound


def _reference_rounding(data: _Data, cols: Columns, c: Array, column: NDArray[np.intp]) -> Array:
    """The forward pass's own rounding allowance at these points: a float pass of T steps
    over n sequences, (4T + 2n + 16) eps times mean (|wx| A_i + |t_i|)^2."""
    ac = np.abs(c)
    magnitude = (ac * ac * cols.a2[column] + 2.0 * ac * cols.at[column]) + data.tt
    return np.asarray((4 * data.width + 2 * data.n + 16) * _EPS * magnitude)


def _residuals(
    dataset: Dataset, cols: Columns, wx: Array, column: NDArray[np.intp], data: _Data
) -> Array:
    """mean_i (t_i - wx P_i)^2 at each point (inf where the forward pass's sum overflows),
    NaN where its bound exceeds the forward pass's own rounding or overflow is undecided.

    Near overflow the residuals are scaled by 2^-16 first (exactly), so that their sum can
    be told from float64's largest value; ours is the forward pass's arithmetic but for
    underflow, which the bound covers.
    """
    used, local = np.unique(column, return_inverse=True)
    V, _, _ = _powers(cols.wrec[used], data.width)
    n = data.n
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        c = np.where(wx == 0, 0.0, wx * cols.scale[column])
        ac = np.abs(c)
        a2 = cols.a2[column]
        near = np.log2(ac) + np.log2(cols.a_max[column]) > _STATE_LOG2 - 16.0
        f = np.where(near, 2.0**-16, 1.0)
        fc, ft = f * c, f[None, :]
        total = np.zeros(wx.size)
        for X, t in dataset.chunks(_blocks(dataset, data.width + used.size + wx.size)):
            checkpoint()
            P = X @ V
            residual = t[:, None] * ft - P[:, local] * fc[None, :]
            total += np.einsum("ij,ij->j", residual, residual)
        loss = total / n  # times f^2
        u = data.width * np.exp2(data.log2_x_max) * UNDERFLOW
        off = f * (polynomial_gamma(data.width) * ac * np.sqrt(a2) + u * ac)
        bound = 2.0 * np.sqrt(loss) * off + off * off + (n + 4) * _EPS * loss + 4.0 * UNDERFLOW
        log2_sum = np.log2(n) - 2.0 * np.log2(f)
        finite = log2_sum + np.log2(loss + bound) < _SUM_LOG2 - 0.01
        overflows = log2_sum + np.log2(loss - bound) > _SUM_LOG2 + 0.01
        loss, bound = loss / (f * f), bound / (f * f)
        reference = _reference_rounding(data, cols, c, column)
        ok = finite & ((bound <= RTOL * loss) | (bound <= reference))
    return np.asarray(np.where(ok, loss, np.where(overflows, np.inf, np.nan)), dtype=np.float64)


# Relative costs on one machine (seconds), to choose between the exact fallback and rows:
_EXACT_STEP2 = 6e-8  # one exact loss, per timestep^2 (big integers growing with T)
_ROW_ELEMENT = 2e-9  # one column of polynomial values, per sequence x timestep
_POINT_ELEMENT = 5e-9  # one point of the residual form, per sequence
_COLUMN_STEP = 3e-8  # one column's powers, per timestep


def settle_cheapest(stats: Statistics, dataset: Dataset, wx: Array, wrec: Array) -> Array:
    """Losses at points the statistics left unsure, by the cheaper exact method per column.

    Exact big-integer arithmetic (``settle``; bits with integer targets) is correctly
    rounded and costs O(T^2) per point; the rows cost O(n T) per column and O(n) per
    point and keep the forward pass's accuracy. Each wrec column takes the cheaper one.
    """
    out = np.empty(wx.size)
    n, T = dataset.n_samples, dataset.width
    unique, column, counts = np.unique(wrec, return_inverse=True, return_counts=True)
    if stats.exact is None:
        by_exact = np.zeros(unique.size, dtype=bool)
    else:
        exact_cost = counts * (_EXACT_STEP2 * T * T)
        rows_cost = n * T * _ROW_ELEMENT + T * _COLUMN_STEP + counts * n * _POINT_ELEMENT
        by_exact = exact_cost < rows_cost
    exact_points = by_exact[column]
    if exact_points.any():
        out[exact_points] = settle(stats, dataset, wx[exact_points], wrec[exact_points])
    if not exact_points.all():
        out[~exact_points] = row_losses(dataset, wx[~exact_points], wrec[~exact_points])
    return out
