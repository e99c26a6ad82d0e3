"""Backpropagation through time, written as the tutorial does: the reference gradient.

dξ/dS_n = dξ/dy = 2 (y - t) / N, then dξ/dS_{k-1} = dξ/dS_k * wrec, and the weight
gradients accumulate dξ/dS_k * x_k and dξ/dS_k * S_{k-1} over k (and over sequences).
A product with an exact zero input or state counts as 0 even when dξ/dS_k overflowed:
those terms are 0 in exact arithmetic, and this keeps left-padding exact at the overflow edge.

Arrays are time-major ((T+1) x rows, one block of sequences at a time): the loops over
time then read and write contiguous rows, and the products with inputs and states are
formed for the whole block at once, summed per timestep in the tutorial's order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from core.cancel import checkpoint
from core.datasets import Dataset
from core.model import states_time_major, time_major

__all__ = ["Gradient", "backward_gradient", "backward_time_major", "gradient", "output_gradient"]

# Elements per block: BPTT keeps two float64 arrays of this size (states and their
# gradients) and the block's inputs, ~32-48 MB in all.
_BLOCK_ELEMENTS = 1 << 21
# Scratch for the products of a few layers at a time (256 kB: it stays in cache).
_SCRATCH_ELEMENTS = 1 << 15

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Gradient:
    """Loss, weight gradients and the per-timestep trace dξ/dS_k (k = 0..T) at one point."""

    loss: float
    wx: float
    wrec: float
    trace: Array
    per_sequence: Array | None = None


def output_gradient(y: Array, t: Array) -> Array:
    """dξ/dy for the squared error of one sequence (the mean over sequences divides later)."""
    return 2.0 * (y - t)


def backward_time_major(
    XT: NDArray[Any], S: Array, grad_out: Array, wrec: float, out: Array | None = None
) -> tuple[float, float, Array]:
    """Propagate grad_out = dξ/dS_n back through time; return (dξ/dwx, dξ/dwrec, dξ/dS).

    Time-major: XT is T x n, S and the returned dξ/dS (written into ``out`` if given) are
    (T+1) x n.
    """
    T, n = XT.shape
    grad_S = np.empty((T + 1, n)) if out is None else out
    grad_S[T] = grad_out
    per_layer_wx, per_layer_wrec = np.empty(T), np.empty(T)
    # Products are formed a few layers at a time, in scratch that stays in cache.
    layers = max(1, _SCRATCH_ELEMENTS // max(1, n))
    scratch = np.empty((min(T, layers), n))
    rows = list(grad_S)
    with np.errstate(over="ignore", invalid="ignore"):
        for top in range(T, 0, -layers):
            checkpoint()
            bottom = max(0, top - layers)
            # The gradient at the output of each earlier layer, one contiguous row at a time.
            for k in range(top, bottom, -1):
                np.multiply(rows[k], wrec, out=rows[k - 1])
            # The parameter gradients of layers bottom+1..top, summed over sequences.
            grad = grad_S[bottom + 1 : top + 1]
            out = scratch[: top - bottom]
            per_layer_wx[bottom:top] = _layer_sums(grad, XT[bottom:top], out)
            per_layer_wrec[bottom:top] = _layer_sums(grad, S[bottom:top], out)
    # Summed over layers from k = T down to 1, as the tutorial accumulates them.
    grad_wx = grad_wrec = 0.0
    for gx, gr in zip(per_layer_wx[::-1].tolist(), per_layer_wrec[::-1].tolist(), strict=True):
        grad_wx += gx
        grad_wrec += gr
    return grad_wx, grad_wrec, grad_S


def backward_gradient(
    X: Array, S: Array, grad_out: Array, wrec: float
) -> tuple[float, float, Array]:
    """``backward_time_major`` for row-major X (n x T) and S (n x (T+1)); dξ/dS is n x (T+1)."""
    gx, gr, grad_S = backward_time_major(time_major(X), time_major(S), grad_out, wrec)
    return gx, gr, grad_S.T


def gradient(dataset: Dataset, wx: float, wrec: float, *, per_sequence: bool = False) -> Gradient:
    """BPTT over the whole dataset, block by block so that memory stays bounded."""
    n, T = dataset.n_samples, dataset.width
    rows = max(1, _BLOCK_ELEMENTS // (T + 1))
    sq_error = grad_wx = grad_wrec = 0.0
    trace = np.zeros(T + 1)
    every = np.empty((n, T + 1)) if per_sequence else None
    # One pair of buffers for every block: fresh memory costs page faults per block.
    states, grads = np.empty((T + 1, min(n, rows))), np.empty((T + 1, min(n, rows)))
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, n, rows):
            XT = time_major(dataset.inputs[start : start + rows])
            t = dataset.targets[start : start + rows]
            m = len(t)
            S = states_time_major(XT, wx, wrec, out=states[:, :m])
            y = S[-1]
            sq_error += float(np.sum((t - y) ** 2))
            g_out = output_gradient(y, t) / n
            gx, gr, grad_S = backward_time_major(XT, S, g_out, wrec, out=grads[:, :m])
            grad_wx += gx
            grad_wrec += gr
            trace += grad_S.sum(axis=1)
            if every is not None:
                every[start : start + len(t)] = grad_S.T
    return Gradient(sq_error / n, grad_wx, grad_wrec, trace, every)


def _layer_sums(grad: Array, values: NDArray[Any], out: Array) -> Array:
    """sum over sequences of grad * values, per row, where a zero value contributes 0 even
    if grad is inf (``out`` is scratch of the same shape)."""
    np.multiply(grad, values, out=out)
    sums: Array = out.sum(axis=1)
    if not np.isfinite(sums).all():  # an inf or nan product somewhere: zero the 0 * inf ones
        out[values == 0] = 0.0
        sums = out.sum(axis=1)
    return sums
