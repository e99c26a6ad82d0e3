"""Each sequence's polynomial value at a wrec, once per wrec column, and what points need of it.

The output of sequence i is y_i = wx P_i(wrec), P_i(r) = sum_k x_ik r^(T - k), so all
points of one wrec column share the values P_i: one BLAS product of the inputs with a
matrix of powers gives them for many columns at once, O(n T) per column. A column keeps
a few means over sequences (``Columns``), from which any point's loss follows in O(1)
(core.fastpath.rows).

For |r| > 1 the powers are divided by |r|^(T - 1), so they never overflow; the divisor
is multiplied back into wx by the caller, where the result stays finite.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import NDArray

from core.cancel import checkpoint
from core.datasets import Dataset

__all__ = ["Columns", "block_rows", "columns", "polynomial_gamma", "powers"]

Array = NDArray[np.float64]

_EPS = float(np.finfo(np.float64).eps)
# Scratch elements per block of sequences (inputs, polynomial values, residuals): ~16 MB.
_BLOCK_ELEMENTS = 1 << 21


@dataclass(frozen=True)
class Columns:
    """Per-column summaries of the polynomial values, in units of the divisor |r|^(T - 1).

    Means are over sequences. A_i = sum_k |x_ik| |r|^(T - k) bounds the terms of P_i;
    ``a_max`` bounds every state of the forward pass (over the divisor), ``d_max`` is a
    certain lower bound of max_i |P_i|. e_i = t_i - c0 P_i are the residuals at the
    column's least-squares weight c0, where mean(e P) is near zero: the loss written
    around c0 has no cancellation.
    """

    wrec: Array
    scale: Array  # the divisor, inf where it overflows
    log2_scale: Array
    p2: Array  # mean P^2
    tp: Array  # mean t P
    a2: Array  # mean A^2
    at: Array  # mean A |t|
    a_max: Array
    d_max: Array
    c0: Array
    l0: Array  # mean e^2: the lowest loss on the column
    ep: Array  # mean e P

    def take(self, index: NDArray[np.intp]) -> Columns:
        """The summaries of columns ``index`` (any shape, to broadcast against points)."""
        return Columns(*(getattr(self, f.name)[index] for f in fields(self)))


def powers(wrec: Array, width: int) -> tuple[Array, Array, Array]:
    """V[k, j] = wrec_j^(T - 1 - k) / max(1, |wrec_j|)^(T - 1), the divisor and its log2.

    Each entry is one ``pow`` (within an ulp), so no error grows with k.
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


def block_rows(dataset: Dataset, per_row: int) -> int:
    """Sequences per block so that a block's scratch stays near _BLOCK_ELEMENTS."""
    return max(1, min(dataset.n_samples, _BLOCK_ELEMENTS // max(1, per_row)))


def polynomial_gamma(width: int) -> float:
    """Relative bound of one P_i (over A_i): T - 1 products summed, powers within 2 ulps,
    the divisor and wx multiplied back in; the same whatever the BLAS summation order."""
    return 1.01 * (width + 8) * _EPS


def columns(dataset: Dataset, wrec: Array) -> Columns:
    """The summaries of every column wrec[j], a block of columns at a time, so that the
    matrix of powers (T x columns) stays near _BLOCK_ELEMENTS."""
    step = max(1, _BLOCK_ELEMENTS // max(1, dataset.width))
    if wrec.size <= step:
        return _columns(dataset, wrec)
    parts = [_columns(dataset, wrec[start : start + step]) for start in range(0, wrec.size, step)]
    return Columns(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Columns)))


def _columns(dataset: Dataset, wrec: Array) -> Columns:
    """The summaries of columns wrec[j]: two passes over the data, in blocks of sequences.

    The second pass takes the residuals at each column's least-squares weight; when the
    data is one block, the polynomial values of the first are kept for it.
    """
    n, T = dataset.n_samples, dataset.width
    V, scale, log2_scale = powers(wrec, T)
    V_abs = np.abs(V)
    m = wrec.size
    p2, tp, a2, at, a_max, d_max = (np.zeros(m) for _ in range(6))
    g = polynomial_gamma(T)
    signed = (not dataset.is_binary) or bool((V < 0).any())
    small = np.abs(wrec) <= 1.0
    rows = block_rows(dataset, T + 2 * m)
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
