"""The polynomial statistics of one dataset, and their values at any wrec.

The output is y_i = wx * P_i(wrec) with P_i(r) = sum_j c_ij r^j, c_ij = x_{i, T-j}. Around
the tutorial's optimum (1, 1) the residual is

    y_i - t_i = u P_i(r) + v Q_i(r) + e_i,    u = wx - 1,  v = r - 1,
    Q_i(r) = (P_i(r) - P_i(1)) / (r - 1),    e_i = P_i(1) - t_i,

and around wx = 0 it is wx P_i(r) - t_i. Loss and gradients are then sums of u, v, wx
times the means over sequences of products of P, Q, P' (written R), e and t: polynomials
in r whose coefficients (the columns of ``Statistics.coefficients``) are second moments
of the data. Their values are taken divided by max(1, |r|)^(2T - 2), so they never overflow.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from core.datasets import Dataset
from core.fastpath.bounds import UNDERFLOW
from core.fastpath.exact import ExactLoss
from core.fastpath.moments import moments

__all__ = [
    "COLUMNS",
    "P1",
    "PE",
    "PP",
    "PQ",
    "PT",
    "Q1",
    "QE",
    "QQ",
    "RE",
    "RP",
    "RQ",
    "RT",
    "Statistics",
]

# Columns of the coefficient table: mean products of the feature polynomials (R = P').
PP, QQ, PQ, PE, QE, RP, RQ, RE, P1, Q1, PT, RT = range(COLUMNS := 12)

_EPS = float(np.finfo(np.float64).eps)
_MAX = float(np.finfo(np.float64).max)

Array = NDArray[np.float64]


class Statistics:
    """Polynomial coefficients of one dataset, the constants around them, and error scales."""

    def __init__(self, dataset: Dataset) -> None:
        T, n = dataset.width, dataset.n_samples
        m = moments(dataset)
        # Reverse the columns: coefficient j multiplies r^j and belongs to input x_{T-j}.
        gram, c_t, col_sum = m.gram[::-1, ::-1], m.c_t[::-1], m.col_sum[::-1]
        c_e = gram.sum(axis=1) - c_t if m.exact else m.c_e[::-1]
        self.width = T
        self.n_samples = n
        self.s_ee = m.e_sq / n
        self.s_tt = m.t_sq / n
        self.mean_e = m.e_sum / n
        self.mean_t = m.t_sum / n
        self.mean_abs_t = m.t_abs_sum / n
        self.mean_abs_e = m.e_abs_sum / n
        self.coefficients = _coefficient_table(gram / n, c_e / n, c_t / n, col_sum / n)
        self.abs_coefficients = np.abs(self.coefficients)
        # Bits with integer targets: the sums are integers, so the loss can be had exactly.
        self.exact: ExactLoss | None = None
        if m.exact:
            a, b = antidiagonal_sums(gram), c_t
            self.exact = ExactLoss([int(x) for x in a], [int(x) for x in b], int(m.t_sq), n)
        self._signed = bool((self.coefficients < 0).any())
        self._powers = np.arange(2 * T - 1, dtype=np.float64)
        self._alternating = np.where(self._powers % 2 == 1, -1.0, 1.0)
        # |r| beyond this makes |r|**(2T - 2) overflow: only BPTT can answer there.
        self._max_r = 2.0 ** (1000.0 / max(1, 2 * T - 2))
        # Relative rounding error of one evaluation: the coefficients (exact for bits with
        # integer targets), polynomials of 2T - 1 terms, and the few operations combining them.
        data_error = 0.0 if m.exact else 8.0 * np.sqrt(n)
        self.gamma = (4.0 * T + 32.0 + data_error) * _EPS
        # Above this, BPTT's sums over sequences and timesteps may overflow where ours did not.
        self.safe_max = _MAX / (8.0 * n * (T + 1))
        # Underflow's error, magnified by what comes after it besides scale and weights:
        # a polynomial's |coefficients| and its 2T + 1 operations, twice, for six terms.
        largest = float(self.abs_coefficients.sum(axis=0).max())
        self.underflow_unit = 12.0 * (largest + 2.0 * T + 1.0) * UNDERFLOW
        # 1.0 where a column has a non-zero coefficient: which terms can be non-zero at all.
        self.column_support = (self.abs_coefficients.max(axis=0) > 0).astype(np.float64).tolist()

    def polynomials(self, r: Array) -> tuple[Array, Array, Array]:
        """All coefficient polynomials at each r, divided by max(1, |r|)**(2T - 2).

        Returns (values, values of |coefficients| at |r|, log2 of the divisor); the first
        two have one more axis than r, of length COLUMNS.
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
            values.reshape(*shape, COLUMNS),
            values_abs.reshape(*shape, COLUMNS),
            log2_scale.reshape(shape),
        )

    def polynomials_at(self, wrec: float) -> tuple[list[float], list[float], float] | None:
        """``polynomials`` at one finite r, as plain floats and the divisor itself.

        None where |r| is so large that the divisor overflows. The training loop's hot
        path: one small matrix product, no broadcasting.
        """
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
        values = (vander @ self.coefficients).tolist()
        if wrec >= 0 and not self._signed:
            return values, values, scale
        return values, (np.abs(vander) @ self.abs_coefficients).tolist(), scale


def _coefficient_table(gram: Array, c_e: Array, c_t: Array, col_mean: Array) -> Array:
    """Coefficients (by power of r, 0..2T-2) of the mean products of P, Q, P' and e."""
    T = gram.shape[0]
    # Q's coefficient of r^l is sum_{j > l} c_j; P' has (l + 1) c_{l+1}.
    to_q = np.tril(np.ones((T, T)), k=-1)
    to_r = np.zeros((T, T))
    to_r[np.arange(1, T), np.arange(T - 1)] = np.arange(1, T)
    maps = {"P": np.eye(T), "Q": to_q, "R": to_r}
    table = np.zeros((2 * T - 1, COLUMNS))

    def cross(a: str, b: str) -> Array:
        return antidiagonal_sums(maps[a].T @ gram @ maps[b])

    for column, (a, b) in ((PP, "PP"), (QQ, "QQ"), (PQ, "PQ"), (RP, "RP"), (RQ, "RQ")):
        table[:, column] = cross(a, b)
    table[:T, PE] = c_e
    table[:T, QE] = to_q.T @ c_e
    table[:T, RE] = to_r.T @ c_e
    table[:T, P1] = col_mean
    table[:T, Q1] = to_q.T @ col_mean
    table[:T, PT] = c_t
    table[:T, RT] = to_r.T @ c_t
    return table


def antidiagonal_sums(M: Array) -> Array:
    """s_m = sum_{a + b = m} M[a, b]: the coefficients of a product of two polynomials."""
    T = M.shape[0]
    out = np.zeros(2 * T - 1)
    rows = np.arange(T)
    for a in range(T):
        np.add.at(out, a + rows, M[a])
    return out
