"""Backpropagation through time, written as the tutorial does: the reference gradient.

dξ/dS_n = dξ/dy = 2 (y - t) / N, then dξ/dS_{k-1} = dξ/dS_k * wrec, and the weight
gradients accumulate dξ/dS_k * x_k and dξ/dS_k * S_{k-1} over k (and over sequences).
A product with an exact zero input or state counts as 0 even when dξ/dS_k overflowed:
those terms are 0 in exact arithmetic, and this keeps left-padding exact at the overflow edge.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from core.cancel import checkpoint
from core.datasets import Dataset
from core.model import forward_states

__all__ = ["Gradient", "backward_gradient", "gradient", "output_gradient"]

_BLOCK_ELEMENTS = 1 << 21


@dataclass(frozen=True)
class Gradient:
    """Loss, weight gradients and the per-timestep trace dξ/dS_k (k = 0..T) at one point."""

    loss: float
    wx: float
    wrec: float
    trace: NDArray[np.float64]
    per_sequence: NDArray[np.float64] | None = None


def output_gradient(y: NDArray[np.float64], t: NDArray[np.float64]) -> NDArray[np.float64]:
    """dξ/dy for the squared error of one sequence (the mean over sequences divides later)."""
    return 2.0 * (y - t)


def backward_gradient(
    X: NDArray[np.float64], S: NDArray[np.float64], grad_out: NDArray[np.float64], wrec: float
) -> tuple[float, float, NDArray[np.float64]]:
    """Propagate grad_out = dξ/dS_n back through time; return (dξ/dwx, dξ/dwrec, dξ/dS)."""
    n, T = X.shape
    grad_S = np.zeros((n, T + 1))
    grad_S[:, T] = grad_out
    grad_wx = 0.0
    grad_wrec = 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(T, 0, -1):
            checkpoint()
            # Accumulate the parameter gradients of layer k.
            grad_wx += _dot(grad_S[:, k], X[:, k - 1])
            grad_wrec += _dot(grad_S[:, k], S[:, k - 1])
            # The gradient at the output of the previous layer.
            grad_S[:, k - 1] = grad_S[:, k] * wrec
    return grad_wx, grad_wrec, grad_S


def gradient(dataset: Dataset, wx: float, wrec: float, *, per_sequence: bool = False) -> Gradient:
    """BPTT over the whole dataset, block by block so that memory stays bounded."""
    n, T = dataset.n_samples, dataset.width
    rows = max(1, _BLOCK_ELEMENTS // (T + 1))
    sq_error = grad_wx = grad_wrec = 0.0
    trace = np.zeros(T + 1)
    every = np.empty((n, T + 1)) if per_sequence else None
    with np.errstate(over="ignore", invalid="ignore"):
        for start, (X, t) in zip(range(0, n, rows), dataset.chunks(rows), strict=True):
            S = forward_states(X, wx, wrec)
            y = S[:, -1]
            sq_error += float(np.sum((t - y) ** 2))
            gx, gr, grad_S = backward_gradient(X, S, output_gradient(y, t) / n, wrec)
            grad_wx += gx
            grad_wrec += gr
            trace += grad_S.sum(axis=0)
            if every is not None:
                every[start : start + len(t)] = grad_S
    return Gradient(sq_error / n, grad_wx, grad_wrec, trace, every)


def _dot(grad: NDArray[np.float64], values: NDArray[np.float64]) -> float:
    """sum(grad * values), where a zero value contributes 0 even if grad is inf."""
    products = grad * values
    products[values == 0] = 0.0
    return float(products.sum())
