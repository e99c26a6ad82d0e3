"""Optimisers as explicit state plus a step function, vectorised over k starting points.

Weights and gradients have shape (k, 2): columns (wx, wrec), one row per start. Each
``*_step`` updates ``weights`` and ``state`` in place; ``make_optimizer`` validates
hyperparameters by name and binds them.

RProp family (sign-based, robust to the exploding gradients of |wrec| > 1):

    rprop    the tutorial's variant: Delta *= eta+ if sign(g) == previous sign else eta-
             (the previous sign starts at 0, so the first step shrinks); w -= sign(g) Delta.
    rprop-   Riedmiller & Braun (1993) without backtracking: p = g g_prev; p > 0 grows
             Delta, p < 0 shrinks it, p = 0 keeps it; Delta in [delta_min, delta_max].
    rprop+   as rprop-, and on p < 0 undoes the previous update and forgets g.
    irprop-  Igel & Hüsken (2000): on p < 0 shrink Delta and treat g as 0 (no move, no
             memory). This is torch.optim.Rprop (lr = delta0, step_sizes = bounds).
    irprop+  as rprop+, but undoes the previous update only if the loss went up.

sgd: w -= lr * d with d = g (plain), the momentum buffer b = m b + g, or g + m b
(Nesterov); g is first rescaled to norm clip_norm when longer (per start).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
from numpy.typing import NDArray

from core.errors import InvalidInputError

__all__ = [
    "OPTIMIZER_NAMES",
    "Optimizer",
    "OptimizerState",
    "irprop_minus_step",
    "irprop_plus_step",
    "make_optimizer",
    "rprop_minus_step",
    "rprop_plus_step",
    "rprop_step",
    "sgd_step",
]

OPTIMIZER_NAMES = ("rprop", "rprop-", "rprop+", "irprop-", "irprop+", "sgd")

Array = NDArray[np.float64]


@dataclass
class OptimizerState:
    """Per-start state; rows match the weights. Unused fields stay zero."""

    step_size: Array
    prev: Array  # previous sign (rprop) or previous gradient (the family)
    prev_update: Array = field(default_factory=lambda: np.zeros((0, 2)))
    prev_loss: Array = field(default_factory=lambda: np.zeros(0))
    momentum: Array = field(default_factory=lambda: np.zeros((0, 2)))


def rprop_step(
    state: OptimizerState, weights: Array, grad: Array, *, eta_plus: float, eta_minus: float
) -> None:
    """The tutorial's RProp: compare signs (0 included), scale Delta, step against the sign."""
    sign = np.sign(grad)
    state.step_size *= np.where(sign == state.prev, eta_plus, eta_minus)
    weights -= sign * state.step_size
    state.prev = sign


def _scaled_step_size(
    state: OptimizerState,
    product: Array,
    eta_plus: float,
    eta_minus: float,
    delta_min: float,
    delta_max: float,
) -> None:
    factor = np.where(product > 0, eta_plus, np.where(product < 0, eta_minus, 1.0))
    np.clip(state.step_size * factor, delta_min, delta_max, out=state.step_size)


def rprop_minus_step(
    state: OptimizerState,
    weights: Array,
    grad: Array,
    *,
    eta_plus: float,
    eta_minus: float,
    delta_min: float,
    delta_max: float,
) -> None:
    """Rprop-: adapt Delta from the sign of g g_prev, then step against sign(g)."""
    _scaled_step_size(state, grad * state.prev, eta_plus, eta_minus, delta_min, delta_max)
    weights -= np.sign(grad) * state.step_size
    state.prev = grad.copy()


def irprop_minus_step(
    state: OptimizerState,
    weights: Array,
    grad: Array,
    *,
    eta_plus: float,
    eta_minus: float,
    delta_min: float,
    delta_max: float,
) -> None:
    """iRprop-: after a sign change the gradient counts as 0: no move, nothing remembered."""
    flipped = grad * state.prev < 0
    _scaled_step_size(state, grad * state.prev, eta_plus, eta_minus, delta_min, delta_max)
    grad = np.where(flipped, 0.0, grad)
    weights -= np.sign(grad) * state.step_size
    state.prev = grad


def _rprop_plus(
    state: OptimizerState,
    weights: Array,
    grad: Array,
    undo: NDArray[np.bool_],
    *,
    eta_plus: float,
    eta_minus: float,
    delta_min: float,
    delta_max: float,
) -> None:
    flipped = grad * state.prev < 0
    _scaled_step_size(state, grad * state.prev, eta_plus, eta_minus, delta_min, delta_max)
    update = np.where(flipped, 0.0, -np.sign(grad) * state.step_size)
    weights += update - np.where(flipped & undo, state.prev_update, 0.0)
    state.prev_update = np.where(flipped, 0.0, update)
    state.prev = np.where(flipped, 0.0, grad)


def rprop_plus_step(
    state: OptimizerState,
    weights: Array,
    grad: Array,
    *,
    eta_plus: float,
    eta_minus: float,
    delta_min: float,
    delta_max: float,
) -> None:
    """Rprop+: on a sign change, take back the previous update and forget the gradient."""
    _rprop_plus(
        state,
        weights,
        grad,
        np.ones(grad.shape, dtype=bool),
        eta_plus=eta_plus,
        eta_minus=eta_minus,
        delta_min=delta_min,
        delta_max=delta_max,
    )


def irprop_plus_step(
    state: OptimizerState,
    weights: Array,
    grad: Array,
    loss: Array,
    *,
    eta_plus: float,
    eta_minus: float,
    delta_min: float,
    delta_max: float,
) -> None:
    """iRprop+: take back the previous update on a sign change only if the loss went up."""
    worse = (loss > state.prev_loss)[:, None] & np.ones(grad.shape, dtype=bool)
    _rprop_plus(
        state,
        weights,
        grad,
        worse,
        eta_plus=eta_plus,
        eta_minus=eta_minus,
        delta_min=delta_min,
        delta_max=delta_max,
    )
    state.prev_loss = loss.copy()


def sgd_step(
    state: OptimizerState,
    weights: Array,
    grad: Array,
    *,
    learning_rate: float,
    momentum: float,
    nesterov: bool,
    clip_norm: float | None,
) -> None:
    """Gradient descent with optional norm clipping, momentum and Nesterov momentum."""
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


@dataclass(frozen=True)
class Optimizer:
    """A named optimiser with bound hyperparameters."""

    name: str
    hyperparameters: Mapping[str, Any]
    _step: Callable[..., None]
    needs_loss: bool = False

    def init(self, weights: Array) -> OptimizerState:
        k = weights.shape[0]
        delta0 = float(self.hyperparameters.get("delta0", 0.0))
        return OptimizerState(
            step_size=np.full((k, 2), delta0),
            prev=np.zeros((k, 2)),
            prev_update=np.zeros((k, 2)),
            prev_loss=np.full(k, np.inf),
            momentum=np.zeros((k, 2)),
        )

    def step(
        self, state: OptimizerState, weights: Array, grad: Array, loss: Array | None = None
    ) -> None:
        """Advance every start by one iteration (loss is needed only by irprop+)."""
        if self.needs_loss:
            self._step(state, weights, grad, loss)
        else:
            self._step(state, weights, grad)


_RPROP = {"eta_plus": 1.2, "eta_minus": 0.5, "delta0": 0.001}
_FAMILY = {**_RPROP, "delta_min": 1e-6, "delta_max": 50.0}
_SGD: dict[str, Any] = {
    "learning_rate": 0.001,
    "momentum": 0.0,
    "nesterov": False,
    "clip_norm": None,
}
DEFAULTS: dict[str, dict[str, Any]] = {
    "rprop": _RPROP,
    "rprop-": _FAMILY,
    "rprop+": _FAMILY,
    "irprop-": _FAMILY,
    "irprop+": _FAMILY,
    "sgd": _SGD,
}
_STEPS: dict[str, Callable[..., None]] = {
    "rprop": rprop_step,
    "rprop-": rprop_minus_step,
    "rprop+": rprop_plus_step,
    "irprop-": irprop_minus_step,
    "irprop+": irprop_plus_step,
    "sgd": sgd_step,
}


def make_optimizer(name: str, **hyperparameters: Any) -> Optimizer:
    """Validate hyperparameters for ``name`` (naming any unknown or out of range); bind them."""
    if name not in _STEPS:
        raise InvalidInputError(
            "optimizer.name", f"must be one of {', '.join(OPTIMIZER_NAMES)}; got {name!r}"
        )
    unknown = sorted(set(hyperparameters) - set(DEFAULTS[name]))
    if unknown:
        raise InvalidInputError(
            f"optimizer.{unknown[0]}",
            f"is not a hyperparameter of {name!r} (it takes {', '.join(DEFAULTS[name])})",
        )
    params = {
        **DEFAULTS[name],
        **{k: v for k, v in hyperparameters.items() if v is not None or k == "clip_norm"},
    }
    _validate(name, params)
    step_params = {k: v for k, v in params.items() if k != "delta0"}
    return Optimizer(
        name, params, partial(_STEPS[name], **step_params), needs_loss=name == "irprop+"
    )


def _validate(name: str, p: dict[str, Any]) -> None:
    def bad(key: str, message: str) -> InvalidInputError:
        return InvalidInputError(f"optimizer.{key}", f"{message}, got {p[key]!r}")

    for key, value in p.items():
        if (
            key != "nesterov"
            and value is not None
            and not (isinstance(value, int | float) and np.isfinite(value))
        ):
            raise bad(key, "must be a finite number")
    if name == "sgd":
        if not p["learning_rate"] > 0:
            raise bad("learning_rate", "must be > 0")
        if not 0 <= p["momentum"] < 1:
            raise bad("momentum", "must be in [0, 1)")
        if not isinstance(p["nesterov"], bool):
            raise bad("nesterov", "must be true or false")
        if p["nesterov"] and p["momentum"] == 0:
            raise bad("nesterov", "needs momentum > 0")
        if p["clip_norm"] is not None and not p["clip_norm"] > 0:
            raise bad("clip_norm", "must be > 0")
        return
    if not p["eta_plus"] > 1:
        raise bad("eta_plus", "must be > 1")
    if not 0 < p["eta_minus"] < 1:
        raise bad("eta_minus", "must be in (0, 1)")
    if not p["delta0"] > 0:
        raise bad("delta0", "must be > 0")
    if "delta_min" in p:
        if not p["delta_min"] > 0:
            raise bad("delta_min", "must be > 0")
        if not p["delta_max"] >= p["delta_min"]:
            raise bad("delta_max", f"must be >= delta_min ({p['delta_min']})")
