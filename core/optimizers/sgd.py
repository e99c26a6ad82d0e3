"""Gradient descent with optional norm clipping, momentum and Nesterov momentum.

Momentum: B. T. Polyak, "Some methods of speeding up the convergence of iteration
methods", 1964; Nesterov momentum in the form of I. Sutskever et al., "On the importance
of initialization and momentum in deep learning", ICML 2013 (as torch.optim.SGD writes
both); clipping the gradient's norm: R. Pascanu, T. Mikolov and Y. Bengio, "On the
difficulty of training recurrent neural networks", ICML 2013. Per start::

    b = 0                                                 (made on the first step)
    g = g * clip_norm / |g|  if clip_norm is set and |g| > clip_norm
    m = 0:  d = g
    m > 0:  b = m b + g;  d = g + m b (Nesterov) or d = b
    w -= learning_rate * d

The tutorial's point: near |wrec| > 1 the gradient explodes and plain descent jumps off.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.optimizers.entry import Array, OptimizerEntry
from core.optimizers.hyperparameters import hyperparameter, invalid, validate

__all__ = ["SGD", "SgdParams", "SgdState", "sgd_step"]


@dataclass(frozen=True)
class SgdParams:
    """Step size, momentum (0: none), Nesterov's variant, and an optional norm clip."""

    learning_rate: float = hyperparameter(0.001, "Step size.", gt=0)
    momentum: float = hyperparameter(0.0, "Momentum factor (0: plain descent).", ge=0, lt=1)
    nesterov: bool = hyperparameter(False, "Nesterov momentum (needs momentum > 0).")
    clip_norm: float | None = hyperparameter(
        None, "Rescale the gradient to this norm when longer (None: no clipping).", gt=0
    )

    def __post_init__(self) -> None:
        validate(self)
        if self.nesterov and self.momentum == 0:
            raise invalid("nesterov", "needs momentum > 0", self.nesterov)


@dataclass
class SgdState:
    """Per start: the momentum buffer b (untouched without momentum)."""

    momentum: Array


def sgd_step(
    state: SgdState | None,
    weights: Array,
    grad: Array,
    *,
    learning_rate: float,
    momentum: float,
    nesterov: bool,
    clip_norm: float | None,
) -> SgdState:
    """One iteration of gradient descent on every start (weights updated in place)."""
    if state is None:
        state = SgdState(np.zeros((weights.shape[0], 2)))
    if clip_norm is not None:
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            norm = np.hypot(grad[:, 0], grad[:, 1])[:, None]
            grad = np.where(norm > clip_norm, grad * (clip_norm / norm), grad)
    if momentum:
        state.momentum = momentum * state.momentum + grad
        direction = grad + momentum * state.momentum if nesterov else state.momentum
    else:
        direction = grad
    weights -= learning_rate * direction
    return state


SGD = OptimizerEntry(
    name="sgd",
    summary="Gradient descent, with optional momentum, Nesterov momentum and norm clipping.",
    params=SgdParams,
    step=sgd_step,
    sign_based=False,
)
