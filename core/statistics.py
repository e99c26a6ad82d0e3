"""The fast path: loss and gradients from polynomial statistics of the dataset.

The output is y_i = wx * P_i(wrec) with P_i(r) = sum_j c_ij r^j, c_ij = x_{i, T-j}. Written
around the tutorial's optimum (1, 1) the residual is

    y_i - t_i = u P_i(r) + v Q_i(r) + e_i,    u = wx - 1,  v = r - 1,
    Q_i(r) = (P_i(r) - P_i(1)) / (r - 1),    e_i = P_i(1) - t_i,

so the loss mean((y - t)^2) and the gradients 2 mean((y - t) P) and 2 wx mean((y - t) P')
are sums of u, v times polynomials in r whose coefficients are second moments of the
data: one pass over the dataset (a T x T Gram matrix) makes every later evaluation cost
O(T), independent of the number of sequences. Expanding around (1, 1) rather than (0, 0)
keeps the terms small where the loss is small, so there is no catastrophic cancellation
in the valley the optimisers converge to; a second form, y_i - t_i = wx P_i(r) - t_i, is
exact where the output is near zero (wx near 0), the other place where terms cancel.

Every value comes with a rounding-error bound; a value whose bound is not below
``RTOL`` of itself (or that overflowed, or is near the overflow threshold) is marked
unsure, and callers take it from the BPTT path instead. The fast path therefore agrees
with exact arithmetic to ``RTOL`` relative everywhere it answers. Polynomials are
evaluated divided by max(1, |r|)^(2T-2), so they never overflow, and a loss that surely
exceeds float64 is known as such (``log2_loss``) without asking BPTT.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from core.datasets import Dataset
from core.model import losses_at

__all__ = ["MAX_FAST_WIDTH", "RTOL", "Evaluation", "Statistics", "statistics"]

RTOL = 1e-10
# The Gram matrix is width x width: beyond this, the statistics cost more than they save.
MAX_FAST_WIDTH = 1024
_EPS = float(np.finfo(np.float64).eps)
_MAX = float(np.finfo(np.float64).max)
# Below this, underflow's absolute errors (~5e-324 each) could exceed RTOL of a value.
_TINY = 1e-290
_BLOCK_ROWS = 1 << 14

# Columns of the coefficient table: mean products of the feature polynomials.
_PP, _QQ, _PQ, _PE, _QE, _RP, _RQ, _RE, _P1, _Q1, _PT, _RT = range(_COLUMNS := 12)


@dataclass(frozen=True)
class Evaluation:
    """Fast-path values at broadcast points.

    ``sure`` covers loss and gradient, ``residual_sure`` the mean residual (the gradient
    trace); where either is False, BPTT must answer. ``log2_loss`` is log2 of the loss
    where the scaled evaluation vouches for it (NaN elsewhere), finite even past float64.
    """

    loss: NDArray[np.float64]
    grad_wx: NDArray[np.float64]
    grad_wrec: NDArray[np.float64]
    mean_residual: NDArray[np.float64]
    sure: NDArray[np.bool_]
    log2_loss: NDArray[np.float64]
    residual_sure: NDArray[np.bool_]


class Statistics:
    """Polynomial coefficients of one dataset; evaluate them at any (wx, wrec)."""

    def __init__(self, dataset: Dataset) -> None:
        T, n = dataset.width, dataset.n_samples
        m = _moments(dataset)
        # Reverse the columns: coefficient j multiplies r^j and belongs to input x_{T-j}.
        gram, c_t, col_sum = m.gram[::-1, ::-1], m.c_t[::-1], m.col_sum[::-1]
        c_e = gram.sum(axis=1) - c_t if m.exact else m.c_e[::-1]
        e_sq, e_sum, t_sq, exact = m.e_sq, m.e_sum, m.t_sq, m.exact
        self.width = T
        self.n_samples = n
        self.s_ee = e_sq / n
        self.s_tt = t_sq / n
        self.mean_e = e_sum / n
        self.mean_t = m.t_sum / n
        self.mean_abs_t = m.t_abs_sum / n
        self.mean_abs_e = m.e_abs_sum / n
        self.coefficients = _coefficient_table(gram / n, c_e / n, c_t / n, col_sum / n)
        # Bits with integer targets: the sums are integers, so the loss can be had exactly.
        self._exact: _ExactLoss | None = None
        if exact:
            self._exact = _ExactLoss(
                [int(c) for c in _antidiagonal_sums(gram)], [int(c) for c in c_t], int(t_sq), n
            )
        self.abs_coefficients = np.abs(self.coefficients)
        self._signed = bool((self.coefficients < 0).any())
        self._powers = np.arange(2 * T - 1, dtype=np.float64)
        self._alternating = np.where(self._powers % 2 == 1, -1.0, 1.0)
        # |r| beyond this makes |r|**(2T - 2) overflow: only BPTT can answer there.
        self._max_r = 2.0 ** (1000.0 / max(1, 2 * T - 2))
        # Relative rounding error of one evaluation: the coefficients (exact for bits with
        # integer targets), polynomials of 2T - 1 terms, and the few operations combining them.
        data_error = 0.0 if exact else 8.0 * np.sqrt(n)
        self.gamma = (4.0 * T + 32.0 + data_error) * _EPS
        # Above this, BPTT's sums over sequences and timesteps may overflow where ours did not.
        self.safe_max = _MAX / (8.0 * n * (T + 1))

    def evaluate(self, wx: ArrayLike, wrec: ArrayLike, *, with_gradient: bool = True) -> Evaluation:
        """Loss (and gradient, mean residual) at the points broadcast from wx and wrec.

        Two forms of the same quadratic in wx are tried: around wx = 1 (exact in the
        valley) and around wx = 0 (exact where the output is near zero); each point takes
        the first that vouches for all its values.
        """
        wx_a = np.asarray(wx, dtype=np.float64)
        r = np.asarray(wrec, dtype=np.float64)
        poly, poly_abs, log2_scale = self._polynomials(r)
        p = [poly[..., i] for i in range(_COLUMNS)]
        q = [poly_abs[..., i] for i in range(_COLUMNS)]
        g = self.gamma
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            scale = np.exp2(log2_scale)
            u, v, w = wx_a - 1.0, r - 1.0, wx_a
            au, av, aw = np.abs(u), np.abs(v), np.abs(w)
            # Around (1, 1): residual u P + v Q + e.
            quad1 = (
                u * u * p[_PP] + v * v * p[_QQ] + 2.0 * (u * v * p[_PQ] + u * p[_PE] + v * p[_QE])
            )
            quad1_abs = (
                au * au * q[_PP]
                + av * av * q[_QQ]
                + 2.0 * (au * av * q[_PQ] + au * q[_PE] + av * q[_QE])
            )
            # Around wx = 0: residual w P - t.
            quad0 = w * w * p[_PP] - 2.0 * w * p[_PT]
            quad0_abs = aw * aw * q[_PP] + 2.0 * aw * q[_PT]
            loss1, bound1 = scale * quad1 + self.s_ee, g * (scale * quad1_abs + self.s_ee)
            loss0, bound0 = scale * quad0 + self.s_tt, g * (scale * quad0_abs + self.s_tt)
            sure1 = _vouched(loss1, bound1, self.safe_max)
            sure0 = _vouched(loss0, bound0, self.safe_max)
            nan = np.full(np.broadcast(wx_a, r).shape, np.nan)
            gx = gr = mean_residual = nan
            residual_sure = np.zeros(nan.shape, dtype=bool)
            if with_gradient:
                gx1 = 2.0 * scale * (u * p[_PP] + v * p[_PQ] + p[_PE])
                gx1_bound = 2.0 * g * scale * (au * q[_PP] + av * q[_PQ] + q[_PE])
                gr1 = 2.0 * w * scale * (u * p[_RP] + v * p[_RQ] + p[_RE])
                gr1_bound = 2.0 * g * aw * scale * (au * q[_RP] + av * q[_RQ] + q[_RE])
                gx0 = 2.0 * scale * (w * p[_PP] - p[_PT])
                gx0_bound = 2.0 * g * scale * (aw * q[_PP] + q[_PT])
                gr0 = 2.0 * w * scale * (w * p[_RP] - p[_RT])
                gr0_bound = 2.0 * g * aw * scale * (aw * q[_RP] + q[_RT])
                sure1 &= _vouched(gx1, gx1_bound, self.safe_max) & _vouched(
                    gr1, gr1_bound, self.safe_max
                )
                sure0 &= _vouched(gx0, gx0_bound, self.safe_max) & _vouched(
                    gr0, gr0_bound, self.safe_max
                )
                gx = np.where(sure1, gx1, gx0)
                gr = np.where(sure1, gr1, gr0)
                # mean(y - t), for the gradient trace 2 mean(y - t) wrec^(T - k).
                m1 = scale * (u * p[_P1] + v * p[_Q1]) + self.mean_e
                m1_bound = g * (scale * (au * q[_P1] + av * q[_Q1]) + self.mean_abs_e)
                m0 = scale * w * p[_P1] - self.mean_t
                m0_bound = g * (scale * aw * q[_P1] + self.mean_abs_t)
                r1 = _vouched(m1, m1_bound, self.safe_max)
                mean_residual = np.where(r1, m1, m0)
                residual_sure = r1 | _vouched(m0, m0_bound, self.safe_max)
            loss = np.where(sure1, loss1, loss0)
            # log2 of the loss without forming the scale, to recognise a certain overflow.
            first = quad1_abs + self.s_ee / scale <= quad0_abs + self.s_tt / scale
            scaled = np.where(first, quad1 + self.s_ee / scale, quad0 + self.s_tt / scale)
            scaled_abs = np.where(
                first, quad1_abs + self.s_ee / scale, quad0_abs + self.s_tt / scale
            )
            trusted = scaled > 4.0 * g * scaled_abs
            log2_loss = np.where(trusted, log2_scale + np.log2(np.abs(scaled)), np.nan)
        return Evaluation(
            loss, gx, gr, mean_residual, np.asarray(sure1 | sure0), log2_loss, residual_sure
        )

    def gradient_at(self, wx: float, wrec: float, rtol: float = RTOL) -> tuple[float, float] | None:
        """The gradient at one point as plain floats (the training loop's hot path); None if unsure.

        Same formulas as ``evaluate`` around (1, 1) and wx = 0, without array overhead. A
        sign-based optimiser passes a large ``rtol``: it needs only the signs to be right.
        """
        if not (math.isfinite(wx) and math.isfinite(wrec)):
            return None
        r = np.float64(wrec)
        if abs(wrec) <= 1.0:
            vander, scale = r**self._powers, 1.0
        elif abs(wrec) < self._max_r:
            vander = (1.0 / abs(r)) ** self._powers[::-1]
            if wrec < 0:
                vander = vander * self._alternating
            scale = abs(wrec) ** float(self._powers[-1])
        else:
            return None
        p = (vander @ self.coefficients).tolist()
        q = (
            p
            if (wrec >= 0 and not self._signed)
            else (np.abs(vander) @ self.abs_coefficients).tolist()
        )
        u, v, g = wx - 1.0, wrec - 1.0, self.gamma
        au, av, aw = abs(u), abs(v), abs(wx)
        gx = 2.0 * scale * (u * p[_PP] + v * p[_PQ] + p[_PE])
        gr = 2.0 * wx * scale * (u * p[_RP] + v * p[_RQ] + p[_RE])
        bx = 2.0 * g * scale * (au * q[_PP] + av * q[_PQ] + q[_PE])
        br = 2.0 * g * aw * scale * (au * q[_RP] + av * q[_RQ] + q[_RE])
        if not (self._scalar_vouched(gx, bx, rtol) and self._scalar_vouched(gr, br, rtol)):
            gx = 2.0 * scale * (wx * p[_PP] - p[_PT])
            gr = 2.0 * wx * scale * (wx * p[_RP] - p[_RT])
            bx = 2.0 * g * scale * (aw * q[_PP] + q[_PT])
            br = 2.0 * g * aw * scale * (aw * q[_RP] + q[_RT])
            if not (self._scalar_vouched(gx, bx, rtol) and self._scalar_vouched(gr, br, rtol)):
                return None
        return gx, gr

    def _scalar_vouched(self, value: float, bound: float, rtol: float) -> bool:
        """``_vouched`` for one float, with the caller's tolerance."""
        magnitude = abs(value)
        if magnitude == 0.0:
            return bound == 0.0
        return _TINY <= magnitude <= self.safe_max and bound <= rtol * magnitude

    def settle(
        self, dataset: Dataset, wx: NDArray[np.float64], wrec: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """Losses at points the float evaluation left unsure: exact where that is possible
        and BPTT would agree (clear of float64's overflow and underflow), else the forward pass.
        """
        values = self.exact_losses(wx, wrec)
        if values is None:
            return losses_at(dataset, wx, wrec)
        magnitude = np.abs(values)
        agreed = ((magnitude >= _TINY) & (magnitude <= self.safe_max)) | (magnitude == 0)
        if not agreed.all():
            values[~agreed] = losses_at(dataset, wx[~agreed], wrec[~agreed])
        return values

    def exact_losses(
        self, wx: NDArray[np.float64], wrec: NDArray[np.float64]
    ) -> NDArray[np.float64] | None:
        """The loss at points (wx[p], wrec[p]) in exact arithmetic, correctly rounded.

        Only for bits with integer targets (else None). Costs O(T) big-integer operations
        per point, whatever the number of sequences: the fallback for the few points the
        float evaluation cannot vouch for, instead of a forward pass over all the data.
        """
        if self._exact is None:
            return None
        exact = self._exact
        return np.array(
            [
                exact.loss(a, r) if math.isfinite(a) and math.isfinite(r) else math.nan
                for a, r in zip(wx.tolist(), wrec.tolist(), strict=True)
            ],
            dtype=np.float64,
        )

    def loss_grid(
        self, wx: NDArray[np.float64], wrec: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.bool_] | None]:
        """Loss on the grid wrec x wx (row i is wrec[i]) and where it is unsure (None: nowhere).

        Along a row the loss is a convex quadratic in wx. Each row is written around wx = 1
        or wx = 0, whichever is more accurate at the row's minimum, and vouched for as a
        whole when the rounding bound stays below RTOL of the loss over the entire row
        (``_row_vouched``); only the cells of the other rows are checked one by one.
        """
        poly, poly_abs, log2_scale = self._polynomials(wrec)
        with np.errstate(over="ignore", invalid="ignore", under="ignore", divide="ignore"):
            scale = np.exp2(log2_scale)
            v, av = wrec - 1.0, np.abs(wrec - 1.0)
            a, a_abs = scale * poly[:, _PP], scale * poly_abs[:, _PP]
            # Around wx = 1: loss = a u^2 + b1 u + c1, u = wx - 1.
            b1 = 2.0 * scale * (v * poly[:, _PQ] + poly[:, _PE])
            c1 = scale * (v * v * poly[:, _QQ] + 2.0 * v * poly[:, _QE]) + self.s_ee
            b1_abs = 2.0 * scale * (av * poly_abs[:, _PQ] + poly_abs[:, _PE])
            c1_abs = scale * (v * v * poly_abs[:, _QQ] + 2.0 * av * poly_abs[:, _QE]) + self.s_ee
            # Around wx = 0: loss = a w^2 + b0 w + c0, w = wx.
            b0, b0_abs = -2.0 * scale * poly[:, _PT], 2.0 * scale * poly_abs[:, _PT]
            c0 = np.full_like(a, self.s_tt)
            vertex = np.where(a > 0, 1.0 - b1 / (2.0 * a), 1.0)  # in wx
            at_vertex1 = a_abs * (vertex - 1) ** 2 + b1_abs * np.abs(vertex - 1) + c1_abs
            at_vertex0 = a_abs * vertex**2 + b0_abs * np.abs(vertex) + self.s_tt
            around_one = ~(at_vertex0 < at_vertex1)
            x0 = np.where(around_one, 1.0, 0.0)
            b = np.where(around_one, b1, b0)
            c = np.where(around_one, c1, c0)
            b_abs = np.where(around_one, b1_abs, b0_abs)
            c_abs = np.where(around_one, c1_abs, self.s_tt)
            shifted = np.subtract.outer(-x0, -wx)  # wx - x0 per row
            grid = shifted * a[:, None]
            grid += b[:, None]
            grid *= shifted
            grid += c[:, None]
            lo, hi = float(wx.min()), float(wx.max())
            rows_sure = self._row_vouched(
                a, b, c, a_abs, b_abs, c_abs, vertex - x0, lo - x0, hi - x0
            )
        if rows_sure.all():
            return grid, None
        rows = np.flatnonzero(~rows_sure)
        check = self.evaluate(wx[None, :], wrec[rows, None], with_gradient=False)
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
        self,
        a: NDArray[np.float64],
        b: NDArray[np.float64],
        c: NDArray[np.float64],
        a_abs: NDArray[np.float64],
        b_abs: NDArray[np.float64],
        c_abs: NDArray[np.float64],
        vertex: NDArray[np.float64],
        lo: NDArray[np.float64],
        hi: NDArray[np.float64],
    ) -> NDArray[np.bool_]:
        """Rows where gamma (a_abs x^2 + b_abs |x| + c_abs) <= RTOL loss(x) for all x in [lo, hi].

        The loss is at least low + a (x - vertex)^2, low being its value at the vertex less
        that value's bound; the difference of the two sides is a quadratic on each side of
        x = 0, whose minimum over an interval is at an end or at its own vertex. RTOL is
        halved for the second-order slack of this argument.
        """
        g, rt = self.gamma, 0.5 * RTOL
        low = (a * vertex + b) * vertex + c
        low = low - g * ((a_abs * vertex + b_abs * np.sign(vertex) * 1.0) * vertex + c_abs)
        ok = np.isfinite(low) & (low >= _TINY) & np.isfinite(a) & np.isfinite(b) & np.isfinite(c)
        # Every loss on the row must stay clear of overflow and underflow for BPTT to agree.
        ok &= np.maximum((a * lo + b) * lo + c, (a * hi + b) * hi + c) <= self.safe_max
        nearest = np.clip(vertex, lo, hi)
        ok &= (a * nearest + b) * nearest + c >= _TINY
        k2 = rt * a - g * a_abs
        k0 = rt * a * vertex**2 + rt * low - g * c_abs
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

    def _polynomials(
        self, r: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """All coefficient polynomials at r, divided by max(1, |r|)**(2T - 2) so nothing overflows.

        Returns (values, values of |coefficients| at |r|, log2 of the divisor).
        """
        degree = 2 * self.width - 2
        flat = r.reshape(-1, 1)
        big = np.abs(flat) > 1.0
        powers = np.arange(degree + 1, dtype=np.float64)
        with np.errstate(divide="ignore", over="ignore", under="ignore", invalid="ignore"):
            # |r| <= 1: plain powers; |r| > 1: r^m / |r|^degree = sign^m |r|^(m - degree).
            vander = np.where(
                big, np.abs(1.0 / np.where(big, flat, 1.0)) ** (degree - powers), flat**powers
            )
            vander = np.where((flat < 0) & big & (powers % 2 == 1), -vander, vander)
            log2_scale = np.where(big[:, 0], degree * np.log2(np.abs(flat[:, 0])), 0.0)
        values = vander @ self.coefficients
        if self._signed or bool((flat < 0).any()):
            values_abs = np.abs(vander) @ self.abs_coefficients
        else:
            values_abs = values
        shape = r.shape
        return (
            values.reshape(*shape, _COLUMNS),
            values_abs.reshape(*shape, _COLUMNS),
            log2_scale.reshape(shape),
        )


@dataclass(frozen=True)
class _Moments:
    """Sums over sequences, in input column order: X^T X, X^T t, X^T e, column sums."""

    gram: NDArray[np.float64]
    c_t: NDArray[np.float64]
    c_e: NDArray[np.float64]
    col_sum: NDArray[np.float64]
    t_sq: float
    e_sq: float
    e_sum: float
    t_sum: float
    t_abs_sum: float
    e_abs_sum: float
    exact: bool


def _moments(dataset: Dataset) -> _Moments:
    """One pass over the data, block by block.

    Bits with small integer targets go through float32 BLAS: every partial sum is an
    integer below 2**24, so the result is exact and twice as fast as float64.
    """
    T = dataset.width
    targets = dataset.targets
    exact = (
        dataset.is_binary
        and bool(np.all(targets == np.round(targets)))
        and float(np.abs(targets).max()) <= 2**24 / _BLOCK_ROWS
    )
    dtype = np.float32 if exact else np.float64
    gram, c_t, c_e, col_sum = np.zeros((T, T)), np.zeros(T), np.zeros(T), np.zeros(T)
    t_sq = e_sq = e_sum = t_sum = t_abs_sum = e_abs_sum = 0.0
    for start in range(0, dataset.n_samples, _BLOCK_ROWS):
        X: NDArray[Any] = dataset.inputs[start : start + _BLOCK_ROWS].astype(dtype)
        t64 = targets[start : start + _BLOCK_ROWS]
        t = t64.astype(dtype)
        gram += X.T @ X
        c_t += X.T @ t
        col_sum += np.ones(X.shape[0], dtype=dtype) @ X  # BLAS; exact for bits (sums < 2**24)
        if exact:
            e = (X @ np.ones(T, dtype=dtype)).astype(np.float64) - t64
        else:
            e = _residual_sums(X, t64)
        if not exact:
            c_e += X.T @ e
        t_sq += float(t64 @ t64)
        e_sq += float(e @ e)
        e_sum += float(e.sum())
        t_sum += float(t64.sum())
        t_abs_sum += float(np.abs(t64).sum())
        e_abs_sum += float(np.abs(e).sum())
    return _Moments(gram, c_t, c_e, col_sum, t_sq, e_sq, e_sum, t_sum, t_abs_sum, e_abs_sum, exact)


def _residual_sums(X: NDArray[np.float64], t: NDArray[np.float64]) -> NDArray[np.float64]:
    """sum_k x_k - t for each row, compensated (TwoSum): accurate even when it nearly cancels.

    e is the residual at the optimum (1, 1); rounding it plainly would put an absolute error
    of eps * sum |x| into every loss near there, which no relative bound could vouch for.
    """
    total = -t.astype(np.float64)
    carry = np.zeros_like(total)
    for k in range(X.shape[1]):
        x = X[:, k]
        new = total + x
        virtual = new - total
        carry += (total - (new - virtual)) + (x - virtual)
        total = new
    return total + carry


def _vouched(
    value: NDArray[np.float64], bound: NDArray[np.float64], safe_max: float
) -> NDArray[np.bool_]:
    """Whether a value is within RTOL of exact and clear of overflow and underflow.

    An exact zero with a zero bound (the optimum of exact data) is vouched for too.
    """
    magnitude = np.abs(value)
    normal = (magnitude >= _TINY) & (magnitude <= safe_max) & (bound <= RTOL * magnitude)
    return np.asarray(normal | ((magnitude == 0) & (bound == 0)))


@dataclass(frozen=True)
class _ExactLoss:
    """n * loss = wx^2 sum_m A_m r^m - 2 wx sum_j B_j r^j + C, with integer A, B, C."""

    a: list[int]  # sum_i P_i(r)^2 by power of r
    b: list[int]  # sum_i t_i P_i(r) by power of r
    c: int  # sum_i t_i^2
    n: int

    def loss(self, wx: float, wrec: float) -> float:
        w = Fraction(wx)
        total = w * w * _exact_polynomial(self.a, wrec) - 2 * w * _exact_polynomial(self.b, wrec)
        try:
            return float((total + self.c) / self.n)
        except OverflowError:
            return math.inf


def _exact_polynomial(coefficients: list[int], r: float) -> Fraction:
    """sum_m c_m r^m exactly: r = p / q, so it is sum_m c_m p^m q^(D - m) / q^D (Horner)."""
    p, q = r.as_integer_ratio()
    degree = len(coefficients) - 1
    total, q_power = coefficients[degree], 1
    for m in range(degree - 1, -1, -1):
        q_power *= q
        total = total * p + coefficients[m] * q_power
    return Fraction(total, q**degree)


def _coefficient_table(
    gram: NDArray[np.float64],
    c_e: NDArray[np.float64],
    c_t: NDArray[np.float64],
    col_mean: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Coefficients (by power of r, 0..2T-2) of the mean products of P, Q, P' and e."""
    T = gram.shape[0]
    # Q's coefficient of r^l is sum_{j > l} c_j; P' has (l + 1) c_{l+1}.
    to_q = np.tril(np.ones((T, T)), k=-1)
    to_r = np.zeros((T, T))
    to_r[np.arange(1, T), np.arange(T - 1)] = np.arange(1, T)
    maps = {"P": np.eye(T), "Q": to_q, "R": to_r}
    table = np.zeros((2 * T - 1, _COLUMNS))

    def cross(a: str, b: str) -> NDArray[np.float64]:
        return _antidiagonal_sums(maps[a].T @ gram @ maps[b])

    for column, (a, b) in ((_PP, "PP"), (_QQ, "QQ"), (_PQ, "PQ"), (_RP, "RP"), (_RQ, "RQ")):
        table[:, column] = cross(a, b)
    table[:T, _PE] = c_e
    table[:T, _QE] = to_q.T @ c_e
    table[:T, _RE] = to_r.T @ c_e
    table[:T, _P1] = col_mean
    table[:T, _Q1] = to_q.T @ col_mean
    table[:T, _PT] = c_t
    table[:T, _RT] = to_r.T @ c_t
    return table


def _antidiagonal_sums(M: NDArray[np.float64]) -> NDArray[np.float64]:
    """s_m = sum_{a + b = m} M[a, b]: the coefficients of a product of two polynomials."""
    T = M.shape[0]
    out = np.zeros(2 * T - 1)
    rows = np.arange(T)
    for a in range(T):
        np.add.at(out, a + rows, M[a])
    return out


_cache: weakref.WeakKeyDictionary[Dataset, Statistics] = weakref.WeakKeyDictionary()


def statistics(dataset: Dataset) -> Statistics | None:
    """The dataset's statistics (computed once per dataset object), or None if too wide."""
    if dataset.width > MAX_FAST_WIDTH:
        return None
    stats = _cache.get(dataset)
    if stats is None:
        stats = _cache[dataset] = Statistics(dataset)
    return stats
