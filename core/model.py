"""The tutorial's linear RNN: s_k = s_{k-1} * wrec + x_k * wx, output y = s_n, MSE loss.

Float64 overflow (|wrec| > 1 on long sequences) is not an error here: results carry
inf/nan and callers decide how to report them.

The loops run time-major: each block of sequences is transposed once to (T, rows), so
the step k reads one contiguous row instead of a strided column of a C-ordered (n, T)
array (4-6x faster per step at long T). The arithmetic per element is the recurrence's,
unchanged, so results are the same to the bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from core.cancel import checkpoint
from core.datasets import Dataset

__all__ = [
    "forward_states",
    "loss",
    "losses_at",
    "outputs",
    "states_time_major",
    "time_major",
    "update_state",
]

# Elements of scratch per block in the loops below (~16 MB of float64).
_BLOCK_ELEMENTS = 1 << 21
# The loops over time ask ``checkpoint()`` once per this many steps: often enough to stop
# within milliseconds, rarely enough to cost nothing next to a step's two array operations.
CHECK_EVERY = 64


def update_state(
    xk: NDArray[np.float64], sk: NDArray[np.float64], wx: float, wrec: float
) -> NDArray[np.float64]:
    """One step of the recurrence."""
    return xk * wx + sk * wrec


def time_major(inputs: ArrayLike) -> NDArray[Any]:
    """The (n, T) inputs as a contiguous (T, n) array, in their own dtype: one copy.

    Not a copy where the transpose is already contiguous (n = 1 or T = 1): read it only.
    Bits stay uint8 (an eighth of float64's memory traffic); arithmetic with float64
    operands widens them exactly.
    """
    return np.ascontiguousarray(np.asarray(inputs).T)


def states_time_major(
    XT: NDArray[Any], wx: float, wrec: float, out: NDArray[np.float64] | None = None
) -> NDArray[np.float64]:
    """All states, time-major ((T+1) x n) from time-major inputs XT (T x n); row 0 is s_0 = 0.

    The drive x_k * wx of every step is written into the states' rows at once; the step
    then adds s_{k-1} * wrec to it through one small buffer that stays in cache (the same
    two roundings as ``update_state``). At long T the per-step overhead dominates, so the
    rows are taken as views once, up front. ``out`` ((T+1) x n) saves the allocation: BPTT
    reuses one for every block of a dataset instead of touching fresh memory each time.
    """
    T, n = XT.shape
    S = np.empty((T + 1, n)) if out is None else out
    S[0] = 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        np.multiply(XT, wx, out=S[1:])
        states = list(S)
        carried = np.empty(n)
        for k in range(T):
            if not k % CHECK_EVERY:
                checkpoint()
            np.multiply(states[k], wrec, out=carried)
            np.add(states[k + 1], carried, out=states[k + 1])
    return S


def forward_states(inputs: ArrayLike, wx: float, wrec: float) -> NDArray[np.float64]:
    """All states S (n x (T+1)); S[:, 0] = 0 is the initial state, S[:, -1] the output.

    A transposed view of ``states_time_major``: the values are the same, the layout is not C.
    """
    return states_time_major(time_major(inputs), wx, wrec).T


def outputs(dataset: Dataset, wx: float, wrec: float) -> NDArray[np.float64]:
    """Final states y = s_n of every sequence, without keeping the other states."""
    y = np.empty(dataset.n_samples)
    rows = max(1, _BLOCK_ELEMENTS // max(1, dataset.width))
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, dataset.n_samples, rows):
            drive = time_major(dataset.inputs[start : start + rows]) * wx
            s = np.zeros(drive.shape[1])
            for k, x_wx in enumerate(drive):
                if not k % CHECK_EVERY:
                    checkpoint()
                np.multiply(s, wrec, out=s)
                np.add(x_wx, s, out=s)
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
            XT = time_major(dataset.inputs[start : start + rows])
            t = dataset.targets[start : start + rows]
            for p in range(0, wx_p.size, points):
                a = wx_p[p : p + points, None]
                r = wrec_p[p : p + points, None]
                s = np.zeros((a.shape[0], XT.shape[1]))
                for k in range(width):
                    if not k % CHECK_EVERY:
                        checkpoint()
                    s = XT[k] * a + s * r
                total[p : p + points] += ((t - s) ** 2).sum(axis=1)
        return (total / n).reshape(shape)
