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

from typing import Any

import numpy as np
from numpy.typing import NDArray

from core.cancel import checkpoint
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
# Elements of scratch for the coefficient table, a few rows at a time (~1 MB).
_SCRATCH_ELEMENTS = 1 << 17
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
        sums = _coefficient_sums(gram, c_e, c_t, col_sum, m.exact)
        self.coefficients = sums.astype(np.float64) / n
        self.abs_coefficients = np.abs(self.coefficients)
        # Bits with integer targets: the sums are integers, so the loss can be had exactly.
        self.exact: ExactLoss | None = None
        if m.exact:
            # n * loss's coefficients: the sums of P^2 (exact integers in either dtype) and t P.
            a, b = sums[:, PP] if sums.dtype == np.int64 else antidiagonal_sums(gram), c_t
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


def _coefficient_sums(
    gram: Array, c_e: Array, c_t: Array, col_sum: Array, exact: bool
) -> NDArray[Any]:
    """Coefficients (by power of r, 0..2T-2) of the products of P, Q, P' and e, summed over
    sequences: O(T^2). With bits and integer targets the sums are integers, and as int64
    they stay exact (the caller divides by n once, so each mean is correctly rounded).
    """
    T = gram.shape[0]
    # Every sum below is at most T^2 times a sum of the Gram matrix: it must fit an int64.
    exact = exact and float(gram.sum()) * float(T) ** 2 < 2.0**62
    dtype = np.int64 if exact else np.float64
    sums = np.zeros((2 * T - 1, COLUMNS), dtype=dtype)
    cross = _exact_cross_sums(gram) if exact else _cross_sums(gram)
    for column, row in ((PP, 0), (QQ, 1), (PQ, 2), (RP, 3), (RQ, 4)):
        sums[:, column] = cross[row, : 2 * T - 1]
    lift = np.arange(1, T)
    for column, q_column, r_column, v in (
        (PE, QE, RE, c_e),
        (P1, Q1, None, col_sum),
        (PT, None, RT, c_t),
    ):
        vector = v.astype(dtype)
        sums[:T, column] = vector
        if q_column is not None:
            sums[:T, q_column] = _suffix_sums(vector[None, :])[0]
        if r_column is not None:
            sums[: T - 1, r_column] = lift * vector[1:]
    return sums


def _exact_cross_sums(G: Array) -> NDArray[np.int64]:
    """``_cross_sums`` in integers, from the sums of P^2 and of P(r) P(1) alone: O(T^2).

    G holds integers; PP and the row sums are sums of them below 2^53, so exact in float64
    (no T x T integer copy), and everything after them is O(T) in int64.

    With u_a = sum_b G[a, b] (the coefficients of U(r) = sum_i P_i(r) P_i(1)) and
    Q_i = (P_i(r) - P_i(1)) / (r - 1):

        sum P Q  = (PP(r) - U(r)) / (r - 1)         sum P' P = PP'(r) / 2
        sum Q Q  = (PP(r) - 2 U(r) + U(1)) / (r - 1)^2
        sum P' Q = (sum P' P - U'(r)) / (r - 1)

    Each numerator vanishes at r = 1, so the divisions are exact: in integers, no rounding
    at all (the float path cannot divide so: its numerators' rounding would not vanish).
    """
    T = G.shape[0]
    out = np.zeros((5, 2 * T), dtype=np.int64)
    pp, u = antidiagonal_sums(G).astype(np.int64), G.sum(axis=1).astype(np.int64)
    out[0, : 2 * T - 1] = pp
    numerator = pp.copy()
    numerator[:T] -= u
    out[2, : 2 * T - 2] = _divide_by_r_minus_1(numerator)
    numerator[:T] -= u
    numerator[0] += u.sum()
    out[1, : max(0, 2 * T - 3)] = _divide_by_r_minus_1(_divide_by_r_minus_1(numerator))
    rp = np.arange(1, 2 * T - 1) * pp[1:] // 2  # (m + 1) PP_{m+1} is even: PP' = 2 P P'
    out[3, : 2 * T - 2] = rp
    numerator = rp.copy()
    numerator[: T - 1] -= np.arange(1, T) * u[1:]
    out[4, : max(0, 2 * T - 3)] = _divide_by_r_minus_1(numerator)
    return out


def _divide_by_r_minus_1(numerator: NDArray[np.int64]) -> NDArray[np.int64]:
    """The quotient's coefficients q_k = sum_{j > k} n_j of N(r) / (r - 1), where N(1) = 0."""
    if numerator.sum() != 0:
        raise ArithmeticError("the numerator does not vanish at r = 1")
    if numerator.size == 0:
        return numerator
    return _suffix_sums(numerator[None, :])[0, :-1]


def _cross_sums(G: NDArray[Any]) -> NDArray[Any]:
    """Sums over sequences of the products PP, QQ, PQ, RP, RQ by power of r (rows 0..4).

    G[a, b] = sum_i c_ia c_ib. Q's coefficient of r^a is sum_{j > a} c_j and P''s is
    (a + 1) c_{a+1}, so the second moments of Q and P' are suffix sums and shifted, scaled
    rows of G: O(T^2) instead of T x T x T products. Each product's coefficient of r^m is
    the sum of its moment matrix's antidiagonal a + b = m. The matrices are made a few
    rows at a time, from the bottom (QQ sums the PQ rows below), in scratch that stays
    small, and each row is added into the coefficients it shifts to.
    """
    T = G.shape[0]
    out = np.zeros((5, 2 * T), dtype=G.dtype)
    rows = max(1, _SCRATCH_ELEMENTS // (5 * T))
    block = np.empty((rows, 5, T), dtype=G.dtype)
    below = np.zeros(T, dtype=G.dtype)  # the sum of the PQ rows below this chunk
    next_g, next_pq = np.zeros(T, dtype=G.dtype), np.zeros(T, dtype=G.dtype)
    for top in range(T, 0, -rows):
        checkpoint()
        start = max(0, top - rows)
        g, m = G[start:top], top - start
        w = block[:m]
        w[:, 0] = g
        pq = w[:, 2]
        pq[:] = _suffix_sums(g)
        qq = w[:, 1]
        qq[m - 1] = below  # the sum of the PQ rows below each row
        for i in range(m - 2, -1, -1):
            np.add(qq[i + 1], pq[i + 1], out=qq[i])
        np.add(qq[0], pq[0], out=below)
        # Row a of the P' moments is (a + 1) times row a + 1 of G and of PQ.
        lift = np.arange(start + 1, top + 1, dtype=G.dtype).reshape(-1, 1)
        np.multiply(lift[:-1], g[1:], out=w[:-1, 3])
        np.multiply(lift[:-1], pq[1:], out=w[:-1, 4])
        np.multiply(lift[-1], next_g, out=w[-1, 3])
        np.multiply(lift[-1], next_pq, out=w[-1, 4])
        next_g, next_pq = g[0].copy(), pq[0].copy()
        for i in range(m - 1, -1, -1):
            out[:, start + i : start + i + T] += w[i]
    return out


def _suffix_sums(M: NDArray[Any]) -> NDArray[Any]:
    """out[:, b] = sum over k > b of M[:, k] (0 in the last column)."""
    out = np.zeros_like(M)
    np.cumsum(M[:, :0:-1], axis=1, out=out[:, -2::-1])
    return out


def antidiagonal_sums(M: NDArray[Any]) -> NDArray[Any]:
    """s_m = sum_{a + b = m} M[a, b]: the coefficients of a product of two polynomials.

    Row a added in at offset a, in order of a (each add stays in cache).
    """
    T = M.shape[0]
    sums = np.zeros(2 * T - 1, dtype=M.dtype)
    for a, row in enumerate(M):
        sums[a : a + T] += row
    return sums
