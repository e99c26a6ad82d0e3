"""The tutorial's linear RNN: s_k = s_{k-1} * wrec + x_k * wx, output y = s_n, MSE loss.

Float64 overflow (|wrec| > 1 on long sequences) is not an error here: results carry
inf/nan and callers decide how to report them.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from core.cancel import checkpoint
from core.datasets import Dataset

__all__ = ["forward_states", "loss", "losses_at", "outputs", "update_state"]

# Elements of scratch per block in the loops below (~16 MB of float64).
_BLOCK_ELEMENTS = 1 << 21


def update_state(
    xk: NDArray[np.float64], sk: NDArray[np.float64], wx: float, wrec: float
) -> NDArray[np.float64]:
    """One step of the recurrence."""
    return xk * wx + sk * wrec


def forward_states(inputs: ArrayLike, wx: float, wrec: float) -> NDArray[np.float64]:
    """All states S (n x (T+1)); S[:, 0] = 0 is the initial state, S[:, -1] the output."""
    X = np.asarray(inputs)
    S = np.zeros((X.shape[0], X.shape[1] + 1))
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(X.shape[1]):
            checkpoint()
            S[:, k + 1] = update_state(X[:, k], S[:, k], wx, wrec)
    return S


def outputs(dataset: Dataset, wx: float, wrec: float) -> NDArray[np.float64]:
    """Final states y = s_n of every sequence, without keeping the other states."""
    y = np.empty(dataset.n_samples)
    rows = max(1, _BLOCK_ELEMENTS // max(1, dataset.width))
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, dataset.n_samples, rows):
            X = dataset.inputs[start : start + rows].astype(np.float64)
            s = np.zeros(X.shape[0])
            for k in range(X.shape[1]):
                checkpoint()
                s = update_state(X[:, k], s, wx, wrec)
            y[start : start + rows] = s
    return y


def loss(dataset: Dataset, wx: float, wrec: float) -> float:
    """Mean squared error between targets and outputs."""
    with np.errstate(over="ignore", invalid="ignore"):
        return float(np.mean((dataset.targets - outputs(dataset, wx, wrec)) ** 2))


def losses_at(dataset: Dataset, wx: ArrayLike, wrec: ArrayLike) -> NDArray[np.float64]:
    """The loss at many points (wx[p], wrec[p]) at once: the forward pass vectorised over points.

    The reference for the fast paths and their fallback where those cannot vouch for a value.
    """
    wx_p, wrec_p = np.broadcast_arrays(
        np.asarray(wx, dtype=np.float64), np.asarray(wrec, dtype=np.float64)
    )
    shape = wx_p.shape
    wx_p, wrec_p = wx_p.ravel(), wrec_p.ravel()
    total = np.zeros(wx_p.size)
    n, width = dataset.n_samples, dataset.width
    rows = max(1, min(n, _BLOCK_ELEMENTS // max(1, width)))
    points = max(1, _BLOCK_ELEMENTS // rows)
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, n, rows):
            X = dataset.inputs[start : start + rows].astype(np.float64)
            t = dataset.targets[start : start + rows]
            for p in range(0, wx_p.size, points):
                a = wx_p[p : p + points, None]
                r = wrec_p[p : p + points, None]
                s = np.zeros((a.shape[0], X.shape[0]))
                for k in range(width):
                    checkpoint()
                    s = X[:, k] * a + s * r
                total[p : p + points] += ((t - s) ** 2).sum(axis=1)
        return (total / n).reshape(shape)
