"""The two baselines every fast path is measured against.

(a) The tutorial's algorithm as written: Python loops over grid points, and a forward and a
    backward pass (loops over timesteps) for every optimiser iteration.
(b) A straightforward NumPy vectorisation of BPTT: over the whole grid at once (one array of
    states per grid point and sequence), or over the whole batch of sequences per iteration.

Training at long sequences is also measured against (c) the closed-form gradient, one
matrix-vector product per iteration, and (d) PyTorch where it is installed.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

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
    return _irprop_minus_loop(
        lambda wx, wrec: np.array(vectorised_gradient(XT, t, wx, wrec)), start, iterations, delta0
    )


def _irprop_minus_loop(
    grad_at: Callable[[float, float], Array],
    start: tuple[float, float],
    iterations: int,
    delta0: float,
) -> Array:
    """iRprop- (torch.optim.Rprop's rule, step sizes clipped to (1e-6, 50)) on any gradient."""
    w = np.array(start, dtype=np.float64)
    step = np.full(2, delta0)
    prev = np.zeros(2)
    for _ in range(iterations):
        g = grad_at(float(w[0]), float(w[1]))
        product = g * prev
        step = np.clip(step * np.where(product > 0, 1.2, np.where(product < 0, 0.5, 1.0)), 1e-6, 50)
        g = np.where(product < 0, 0.0, g)
        w -= np.sign(g) * step
        prev = g
    return w


def tutorial_irprop_minus(
    X: Array, t: Array, start: tuple[float, float], iterations: int, delta0: float = 0.001
) -> Array:
    """iRprop- driven by the tutorial's own BPTT (row-major: a strided column per step)."""

    def grad_at(wx: float, wrec: float) -> Array:
        S = tutorial_forward_states(X, wx, wrec)
        grads, _ = tutorial_backward_gradient(X, S, 2.0 * (S[:, -1] - t), wrec)
        return np.array(grads)

    return _irprop_minus_loop(grad_at, start, iterations, delta0)


# (c) Closed form: y_i = wx * sum_k x_ik wrec^(T-k), so one matrix-vector product per
#     iteration gives outputs and both gradients (no loop over time).
def closed_form_gradient(X: Array, t: Array, wx: float, wrec: float) -> Array:
    """(dξ/dwx, dξ/dwrec) from P_i(wrec) and P_i'(wrec): one (n x T) @ (T x 2) product."""
    T = X.shape[1]
    exponents = np.arange(T - 1, -1, -1, dtype=np.float64)  # column k multiplies wrec^(T-1-k)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        powers = np.empty((T, 2))
        powers[:, 0] = wrec**exponents
        powers[:, 1] = exponents * wrec ** np.maximum(exponents - 1, 0)
        pd = X @ powers
        residual = 2.0 * (wx * pd[:, 0] - t) / X.shape[0]
        return np.array([residual @ pd[:, 0], wx * (residual @ pd[:, 1])])


def closed_form_irprop_minus(
    X: Array, t: Array, start: tuple[float, float], iterations: int, delta0: float = 0.001
) -> Array:
    """iRprop- driven by the closed-form matvec gradient."""
    return _irprop_minus_loop(
        lambda wx, wrec: closed_form_gradient(X, t, wx, wrec), start, iterations, delta0
    )


# (d) PyTorch, float64, if installed: the same closed-form matvec, and autograd through the
#     tutorial's loop over time (time-major, so each step reads one contiguous row).
def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


def torch_closed_form_irprop_minus(
    X: Array, t: Array, start: tuple[float, float], iterations: int, delta0: float = 0.001
) -> Array:
    """torch.optim.Rprop on the closed-form loss mean((wx P(wrec) - t)^2), autograd."""
    import torch

    Xt = torch.from_numpy(np.ascontiguousarray(X))
    tt = torch.from_numpy(np.ascontiguousarray(t, dtype=np.float64))
    exponents = torch.arange(X.shape[1] - 1, -1, -1, dtype=torch.float64)
    w = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Rprop([w], lr=delta0, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0))
    for _ in range(iterations):
        opt.zero_grad()
        y = w[0] * (Xt @ w[1] ** exponents)
        torch.mean((y - tt) ** 2).backward()  # type: ignore[no-untyped-call]
        opt.step()
    return w.detach().numpy().copy()


def torch_bptt_irprop_minus(
    X: Array, t: Array, start: tuple[float, float], iterations: int, delta0: float = 0.001
) -> Array:
    """torch.optim.Rprop with autograd through the loop over time (BPTT), time-major."""
    import torch

    XT = torch.from_numpy(np.ascontiguousarray(X.T))
    tt = torch.from_numpy(np.ascontiguousarray(t, dtype=np.float64))
    w = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Rprop([w], lr=delta0, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0))
    for _ in range(iterations):
        opt.zero_grad()
        s = torch.zeros(XT.shape[1], dtype=torch.float64)
        for k in range(XT.shape[0]):
            s = XT[k] * w[0] + s * w[1]
        torch.mean((s - tt) ** 2).backward()  # type: ignore[no-untyped-call]
        opt.step()
    return w.detach().numpy().copy()
