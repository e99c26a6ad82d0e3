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
in the valley the optimisers converge to.

Every value comes with a rounding-error bound; a value whose bound is not below
``RTOL`` of itself (or that overflowed, or is near the overflow threshold) is marked
unsure, and callers take it from the BPTT path instead. The fast path is therefore
as exact as BPTT up to ``RTOL`` relative, everywhere it answers.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from core.datasets import Dataset

__all__ = ["MAX_FAST_WIDTH", "RTOL", "Evaluation", "Statistics", "statistics"]

RTOL = 1e-11
# The Gram matrix is width x width: beyond this, the statistics cost more than they save.
MAX_FAST_WIDTH = 1024
_EPS = float(np.finfo(np.float64).eps)
_MAX = float(np.finfo(np.float64).max)
_BLOCK_ROWS = 1 << 15

# Columns of the coefficient table: mean products of the feature polynomials.
_PP, _QQ, _PQ, _PE, _QE, _RP, _RQ, _RE, _P1, _Q1, _PT, _RT = range(_COLUMNS := 12)


@dataclass(frozen=True)
class Evaluation:
    """Fast-path values at broadcast points; ``sure`` is False where BPTT must answer."""

    loss: NDArray[np.float64]
    grad_wx: NDArray[np.float64]
    grad_wrec: NDArray[np.float64]
    mean_residual: NDArray[np.float64]
    sure: NDArray[np.bool_]
    log2_loss: NDArray[np.float64]


class Statistics:
    """Polynomial coefficients of one dataset; evaluate them at any (wx, wrec)."""

    def __init__(self, dataset: Dataset) -> None:
        T, n = dataset.width, dataset.n_samples
        gram = np.zeros((T, T))
        c_e = np.zeros(T)
        col_sum = np.zeros(T)
        c_t = np.zeros(T)
        e_sq = e_sum = t_sq = 0.0
        exact = dataset.is_binary and bool(np.all(dataset.targets == np.round(dataset.targets)))
        for start in range(0, n, _BLOCK_ROWS):
            block = dataset.inputs[start : start + _BLOCK_ROWS, ::-1]  # column j holds x_{T-j}
            t = dataset.targets[start : start + _BLOCK_ROWS]
            # Bits in float32: every partial sum is an integer below 2**24, so exact and 2x faster.
            C: NDArray[Any] = block.astype(np.float32 if dataset.is_binary else np.float64)
            gram += np.asarray(C.T @ C, dtype=np.float64)
            C64 = C.astype(np.float64, copy=False)
            e = C64.sum(axis=1) - t
            c_e += C64.T @ e
            c_t += C64.T @ t
            t_sq += float(t @ t)
            col_sum += C64.sum(axis=0)
            e_sq += float(e @ e)
            e_sum += float(e.sum())
        self.width = T
        self.n_samples = n
        self.s_ee = e_sq / n
        self.s_tt = t_sq / n
        self.mean_e = e_sum / n
        self.coefficients = _coefficient_table(gram / n, c_e / n, c_t / n, col_sum / n)
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
                mean_residual = scale * (u * p[_P1] + v * p[_Q1]) + self.mean_e
            loss = np.where(sure1, loss1, loss0)
            # log2 of the loss without forming the scale, to recognise a certain overflow.
            first = quad1_abs + self.s_ee / scale <= quad0_abs + self.s_tt / scale
            scaled = np.where(first, quad1 + self.s_ee / scale, quad0 + self.s_tt / scale)
            scaled_abs = np.where(
                first, quad1_abs + self.s_ee / scale, quad0_abs + self.s_tt / scale
            )
            trusted = scaled > 4.0 * g * scaled_abs
            log2_loss = np.where(trusted, log2_scale + np.log2(np.abs(scaled)), np.nan)
        return Evaluation(loss, gx, gr, mean_residual, np.asarray(sure1 | sure0), log2_loss)

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
        if not (
            bx <= rtol * abs(gx) <= rtol * self.safe_max
            and br <= rtol * abs(gr) <= rtol * self.safe_max
        ):
            gx = 2.0 * scale * (wx * p[_PP] - p[_PT])
            gr = 2.0 * wx * scale * (wx * p[_RP] - p[_RT])
            bx = 2.0 * g * scale * (aw * q[_PP] + q[_PT])
            br = 2.0 * g * aw * scale * (aw * q[_RP] + q[_RT])
            if not (
                bx <= rtol * abs(gx) <= rtol * self.safe_max
                and br <= rtol * abs(gr) <= rtol * self.safe_max
            ):
                return None
        return gx, gr

    def loss_grid(
        self, wx: NDArray[np.float64], wrec: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.bool_] | None]:
        """Loss on the grid wrec x wx (row i is wrec[i]) and where it is unsure (None: nowhere).

        Per row the loss is a convex quadratic in u = wx - 1, so whole rows are vouched for
        from their end points and vertex; only cells of other rows are checked one by one.
        """
        poly, poly_abs, log2_scale = self._polynomials(wrec)
        u = wx - 1.0
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            scale = np.exp2(log2_scale)
            v, av = wrec - 1.0, np.abs(wrec - 1.0)
            a = scale * poly[:, _PP]
            b = 2.0 * scale * (v * poly[:, _PQ] + poly[:, _PE])
            c = scale * (v * v * poly[:, _QQ] + 2.0 * v * poly[:, _QE]) + self.s_ee
            grid = np.multiply.outer(a, u)
            grid += b[:, None]
            grid *= u
            grid += c[:, None]
            # Largest bound and smallest loss of each row over the u-range.
            u_far = max(abs(float(u.min())), abs(float(u.max())))
            bound_max = self.gamma * (
                scale * (u_far * u_far * poly_abs[:, _PP] + v * v * poly_abs[:, _QQ])
                + 2.0
                * scale
                * (u_far * (av * poly_abs[:, _PQ] + poly_abs[:, _PE]) + av * poly_abs[:, _QE])
                + self.s_ee
            )
            vertex = np.clip(np.where(a > 0, -b / (2.0 * a), 0.0), u.min(), u.max())
            low = (a * vertex + b) * vertex + c
            high = np.maximum(grid[:, 0], grid[:, -1])
            rows_sure = (
                (bound_max <= 0.5 * RTOL * low) & (high <= self.safe_max) & np.isfinite(bound_max)
            )
            rows_sure |= (bound_max == 0.0) & np.isfinite(high)
        if rows_sure.all():
            return grid, None
        rows = np.flatnonzero(~rows_sure)
        sub = grid[rows]
        au, aw = np.abs(u), np.abs(wx)
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            sc, vr, avr = scale[rows, None], v[rows, None], av[rows, None]
            pa = [poly_abs[rows, i, None] for i in range(_COLUMNS)]
            bound1 = self.gamma * (
                sc * (au * au * pa[_PP] + vr * vr * pa[_QQ])
                + 2.0 * sc * (au * (avr * pa[_PQ] + pa[_PE]) + avr * pa[_QE])
                + self.s_ee
            )
            loss0 = (a[rows, None] * wx - 2.0 * sc * poly[rows, _PT, None]) * wx + self.s_tt
            bound0 = self.gamma * (sc * (aw * aw * pa[_PP] + 2.0 * aw * pa[_PT]) + self.s_tt)
            sure1 = _vouched(sub, bound1, self.safe_max)
            sure0 = _vouched(loss0, bound0, self.safe_max)
        grid[rows] = np.where(sure1, sub, loss0)
        unsure = np.zeros(grid.shape, dtype=bool)
        unsure[rows] = ~(sure1 | sure0)
        cells = np.nonzero(unsure)
        if cells[0].size:
            # A loss certainly beyond float64 is inf for BPTT too: no need to ask it.
            check = self.evaluate(wx[cells[1]], wrec[cells[0]], with_gradient=False)
            overflow = np.nan_to_num(check.log2_loss, nan=0.0) > 1024.5
            grid[cells[0][overflow], cells[1][overflow]] = np.inf
            unsure[cells[0][overflow], cells[1][overflow]] = False
        return grid, unsure if unsure.any() else None

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


def _vouched(
    value: NDArray[np.float64], bound: NDArray[np.float64], safe_max: float
) -> NDArray[np.bool_]:
    """Whether a value is within RTOL of exact and far enough from overflow for BPTT to agree."""
    magnitude = np.abs(value)
    return np.asarray((bound <= RTOL * magnitude) & (magnitude <= safe_max))


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
