"""The two baselines every fast path is measured against.

(a) The tutorial's algorithm as written: Python loops over grid points, and a forward and a
    backward pass (loops over timesteps) for every optimiser iteration.
(b) A straightforward NumPy vectorisation of BPTT: over the whole grid at once (one array of
    states per grid point and sequence), or over the whole batch of sequences per iteration.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


# (a) The tutorial, transcribed.
def tutorial_forward_states(X: Array, wx: float, wrec: float) -> Array:
    S = np.zeros((X.shape[0], X.shape[1] + 1))
    for k in range(X.shape[1]):
        S[:, k + 1] = X[:, k] * wx + S[:, k] * wrec
    return S


def tutorial_backward_gradient(
    X: Array, S: Array, grad_out: Array, wrec: float
) -> tuple[tuple[float, float], Array]:
    grad_over_time = np.zeros((X.shape[0], X.shape[1] + 1))
    grad_over_time[:, -1] = grad_out
    wx_grad = 0.0
    wrec_grad = 0.0
    for k in range(X.shape[1], 0, -1):
        wx_grad += np.sum(np.mean(grad_over_time[:, k] * X[:, k - 1], axis=0))
        wrec_grad += np.sum(np.mean(grad_over_time[:, k] * S[:, k - 1]), axis=0)
        grad_over_time[:, k - 1] = grad_over_time[:, k] * wrec
    return (wx_grad, wrec_grad), grad_over_time


def tutorial_surface(X: Array, t: Array, wx: Array, wrec: Array) -> Array:
    """Loss at every grid point, one forward pass per point (the tutorial's plotting loop)."""
    loss = np.zeros((len(wrec), len(wx)))
    for i in range(len(wrec)):
        for j in range(len(wx)):
            y = tutorial_forward_states(X, wx[j], wrec[i])[:, -1]
            loss[i, j] = np.mean((t - y) ** 2)
    return loss


def tutorial_rprop(X: Array, t: Array, start: tuple[float, float], iterations: int) -> list[float]:
    """The tutorial's RProp loop: forward and backward pass every iteration."""
    W = list(start)
    W_delta = [0.001, 0.001]
    W_sign: list[float] = [0.0, 0.0]
    for _ in range(iterations):
        S = tutorial_forward_states(X, W[0], W[1])
        grads, _ = tutorial_backward_gradient(X, S, 2.0 * (S[:, -1] - t), W[1])
        new_sign = np.sign(grads)
        for i in range(2):
            W_delta[i] *= 1.2 if new_sign[i] == W_sign[i] else 0.5
        W_sign = list(new_sign)
        for i in range(2):
            W[i] -= W_sign[i] * W_delta[i]
    return W


# (b) NumPy-vectorised BPTT.
def vectorised_surface(X: Array, t: Array, wx: Array, wrec: Array) -> Array:
    """Forward pass for all grid points and sequences at once: states of shape (ny, nx, n)."""
    WX, WREC = np.meshgrid(wx, wrec)
    S = np.zeros((*WX.shape, X.shape[0]))
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(X.shape[1]):
            S = X[:, k] * WX[..., None] + S * WREC[..., None]
        return np.mean((t - S) ** 2, axis=-1)


def vectorised_gradient(XT: Array, t: Array, wx: float, wrec: float) -> tuple[float, float]:
    """BPTT vectorised over the batch, time-major (XT is T x n, contiguous per timestep)."""
    T, n = XT.shape
    S = np.zeros((T + 1, n))
    for k in range(T):
        S[k + 1] = XT[k] * wx + S[k] * wrec
    grad = 2.0 * (S[-1] - t) / n
    g_wx = g_wrec = 0.0
    for k in range(T, 0, -1):
        g_wx += float(grad @ XT[k - 1])
        g_wrec += float(grad @ S[k - 1])
        grad = grad * wrec
    return g_wx, g_wrec


def vectorised_irprop_minus(
    X: Array, t: Array, start: tuple[float, float], iterations: int, delta0: float = 0.001
) -> Array:
    """iRprop- (torch.optim.Rprop's rule) driven by vectorised BPTT."""
    XT = np.ascontiguousarray(X.T)
    w = np.array(start, dtype=np.float64)
    step = np.full(2, delta0)
    prev = np.zeros(2)
    for _ in range(iterations):
        g = np.array(vectorised_gradient(XT, t, float(w[0]), float(w[1])))
        product = g * prev
        step = np.clip(step * np.where(product > 0, 1.2, np.where(product < 0, 0.5, 1.0)), 1e-6, 50)
        g = np.where(product < 0, 0.0, g)
        w -= np.sign(g) * step
        prev = g
    return w
