"""The one pass over the data: second moments of inputs and targets, block by block.

Everything the fast path knows about a dataset comes from these sums; after them, no
evaluation looks at the sequences again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from core.cancel import checkpoint
from core.datasets import Dataset

__all__ = ["Moments", "moments"]

# Rows per block: at most _BLOCK_ROWS (the float32 sums' exactness depends on it), and at
# most _BLOCK_ELEMENTS elements, so that long sequences keep the block's memory bounded.
_BLOCK_ROWS = 1 << 14
_BLOCK_ELEMENTS = 1 << 22
# Rows of the Gram matrix per product: past this width a block's X^T X is made in
# _PANEL x T pieces, so that no T x T temporary sits beside the sums themselves.
_PANEL = 2048


@dataclass(frozen=True)
class Moments:
    """Sums over sequences, in input column order: X^T X, X^T t, X^T e, column sums.

    e_i = sum_k x_ik - t_i is the residual at the optimum (1, 1). ``exact`` says the sums
    are exact integers (bits with small integer targets); c_e is then left zero, since
    gram.sum(axis=1) - c_t gives it exactly.
    """

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


def moments(dataset: Dataset) -> Moments:
    """One pass over the data, block by block.

    Bits with small integer targets go through float32 BLAS: every partial sum is an
    integer below 2**24, so the result is exact and twice as fast as float64.
    """
    T = dataset.width
    targets = dataset.targets
    rows = max(1, min(_BLOCK_ROWS, _BLOCK_ELEMENTS // max(1, T)))
    # A block's sums are at most rows x max |t| (and rows, T for the inputs' own sums).
    exact = (
        dataset.is_binary
        and bool(np.all(targets == np.round(targets)))
        and float(np.abs(targets).max()) * rows <= 2**24
        and T <= 2**24
    )
    dtype = np.float32 if exact else np.float64
    gram, c_t, c_e, col_sum = np.zeros((T, T)), np.zeros(T), np.zeros(T), np.zeros(T)
    t_sq = e_sq = e_sum = t_sum = t_abs_sum = e_abs_sum = 0.0
    for start in range(0, dataset.n_samples, rows):
        checkpoint()
        X: NDArray[Any] = dataset.inputs[start : start + rows].astype(dtype)
        t64 = targets[start : start + rows]
        t = t64.astype(dtype)
        for i in range(0, T, _PANEL):  # X^T X, a panel of its rows at a time
            gram[i : i + _PANEL] += X[:, i : i + _PANEL].T @ X
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
    return Moments(gram, c_t, c_e, col_sum, t_sq, e_sq, e_sum, t_sum, t_abs_sum, e_abs_sum, exact)


def _residual_sums(X: NDArray[np.float64], t: NDArray[np.float64]) -> NDArray[np.float64]:
    """sum_k x_k - t for each row, compensated (TwoSum): accurate even when it nearly cancels.

    e is the residual at the optimum (1, 1); rounding it plainly would put an absolute error
    of eps * sum |x| into every loss near there, which no relative bound could vouch for.
    """
    total = -t.astype(np.float64)
    carry = np.zeros_like(total)
    for x in np.ascontiguousarray(X.T):  # time-major: each step reads a contiguous row
        new = total + x
        virtual = new - total
        carry += (total - (new - virtual)) + (x - virtual)
        total = new
    return total + carry
