"""Losses on a grid, vouched for a row at a time where the row's bound allows.

Along a row (one wrec) the loss is a convex quadratic in wx, so a whole row can be
vouched for at once from its three coefficients; only the cells of the other rows are
evaluated and checked one by one (core.fastpath.evaluate).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from core.fastpath.bounds import RTOL, TINY
from core.fastpath.evaluate import evaluate, underflow_allowance
from core.fastpath.statistics import PE, PP, PQ, PT, QE, QQ, Statistics

__all__ = ["grid_losses"]

Array = NDArray[np.float64]


def grid_losses(
    stats: Statistics, wx: Array, wrec: Array, *, cells: bool = True
) -> tuple[Array, NDArray[np.bool_] | None]:
    """Loss on the grid wrec x wx (row i is wrec[i]) and where it is unsure (None: nowhere).

    Each row is written around wx = 1 or wx = 0, whichever is more accurate at the row's
    minimum, and vouched for as a whole when the rounding bound stays below RTOL of the
    loss over the entire row (``_row_vouched``). The other rows are checked cell by cell,
    unless ``cells`` is False: then all their cells are unsure, for a caller that answers
    whole rows more cheaply (few sequences: core.fastpath.rows).
    """
    poly, poly_abs, log2_scale = stats.polynomials(wrec)
    with np.errstate(over="ignore", invalid="ignore", under="ignore", divide="ignore"):
        scale = np.exp2(log2_scale)
        v, av = wrec - 1.0, np.abs(wrec - 1.0)
        a, a_abs = scale * poly[:, PP], scale * poly_abs[:, PP]
        # Around wx = 1: loss = a u^2 + b1 u + c1, u = wx - 1.
        b1 = 2.0 * scale * (v * poly[:, PQ] + poly[:, PE])
        c1 = scale * (v * v * poly[:, QQ] + 2.0 * v * poly[:, QE]) + stats.s_ee
        b1_abs = 2.0 * scale * (av * poly_abs[:, PQ] + poly_abs[:, PE])
        c1_abs = scale * (v * v * poly_abs[:, QQ] + 2.0 * av * poly_abs[:, QE]) + stats.s_ee
        # Around wx = 0: loss = a w^2 + b0 w + c0, w = wx.
        b0, b0_abs = -2.0 * scale * poly[:, PT], 2.0 * scale * poly_abs[:, PT]
        c0 = np.full_like(a, stats.s_tt)
        vertex = np.where(a > 0, 1.0 - b1 / (2.0 * a), 1.0)  # in wx
        at_vertex1 = a_abs * (vertex - 1) ** 2 + b1_abs * np.abs(vertex - 1) + c1_abs
        at_vertex0 = a_abs * vertex**2 + b0_abs * np.abs(vertex) + stats.s_tt
        around_one = ~(at_vertex0 < at_vertex1)
        x0 = np.where(around_one, 1.0, 0.0)
        b = np.where(around_one, b1, b0)
        c = np.where(around_one, c1, c0)
        b_abs = np.where(around_one, b1_abs, b0_abs)
        c_abs = np.where(around_one, c1_abs, stats.s_tt)
        shifted = np.subtract.outer(-x0, -wx)  # wx - x0 per row
        grid = shifted * a[:, None]
        grid += b[:, None]
        grid *= shifted
        grid += c[:, None]
        lo, hi = float(wx.min()), float(wx.max())
        reach = np.maximum(np.abs(lo - x0), np.abs(hi - x0))  # largest |wx - x0| on the row
        extra = underflow_allowance(stats, scale, reach, v, x0)
        rows_sure = _row_vouched(
            stats, (a, b, c), (a_abs, b_abs, c_abs), extra, vertex - x0, lo - x0, hi - x0
        )
    if rows_sure.all():
        return grid, None
    if not cells:
        return grid, np.broadcast_to(~rows_sure[:, None], grid.shape).copy()
    rows = np.flatnonzero(~rows_sure)
    check = evaluate(stats, wx[None, :], wrec[rows, None], with_gradient=False)
    grid[rows] = check.loss
    unsure = np.zeros(grid.shape, dtype=bool)
    unsure[rows] = ~check.sure
    # A loss certainly beyond float64 is inf for BPTT too: no need to ask it.
    overflow = np.zeros(grid.shape, dtype=bool)
    overflow[rows] = np.nan_to_num(check.log2_loss, nan=0.0) > 1024.5
    grid[overflow] = np.inf
    unsure &= ~overflow
    return grid, unsure if unsure.any() else None


def _row_vouched(
    stats: Statistics,
    coefficients: tuple[Array, Array, Array],
    magnitudes: tuple[Array, Array, Array],
    extra: Array,
    vertex: Array,
    lo: Array,
    hi: Array,
) -> NDArray[np.bool_]:
    """Rows where gamma (a_abs x^2 + b_abs |x| + c_abs) + extra <= RTOL loss(x) on [lo, hi].

    The loss is a x^2 + b x + c; it is at least low + a (x - vertex)^2, low being its value
    at the vertex less that value's bound (``extra`` covers underflow); the difference of
    the two sides is a quadratic on each side of x = 0, whose minimum over an interval is
    at an end or at its own vertex. RTOL is halved for the second-order slack of this argument.
    """
    (a, b, c), (a_abs, b_abs, c_abs) = coefficients, magnitudes
    g, rt = stats.gamma, 0.5 * RTOL
    low = (a * vertex + b) * vertex + c
    low = low - g * ((a_abs * vertex + b_abs * np.sign(vertex) * 1.0) * vertex + c_abs) - extra
    ok = np.isfinite(low) & (low >= TINY) & np.isfinite(a) & np.isfinite(b) & np.isfinite(c)
    # Every loss on the row must stay clear of overflow and underflow for BPTT to agree.
    ok &= np.maximum((a * lo + b) * lo + c, (a * hi + b) * hi + c) <= stats.safe_max
    nearest = np.clip(vertex, lo, hi)
    ok &= (a * nearest + b) * nearest + c >= TINY
    k2 = rt * a - g * a_abs
    k0 = rt * a * vertex**2 + rt * low - g * c_abs - extra
    for side in (-1.0, 1.0):  # |x| = side * x on this piece
        start = np.maximum(lo, 0.0) if side > 0 else lo
        stop = hi if side > 0 else np.minimum(hi, 0.0)
        k1 = -2.0 * rt * a * vertex - side * g * b_abs
        present = start <= stop
        h_start = (k2 * start + k1) * start + k0
        h_stop = (k2 * stop + k1) * stop + k0
        turn = np.clip(
            np.where(k2 > 0, -k1 / (2.0 * np.where(k2 > 0, k2, 1.0)), start), start, stop
        )
        h_turn = (k2 * turn + k1) * turn + k0
        ok &= ~present | (np.minimum(np.minimum(h_start, h_stop), h_turn) >= 0)
    return np.asarray(ok)
