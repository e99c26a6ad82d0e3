"""The RProp family with bounded steps: Rprop-, Rprop+, iRprop-, iRprop+.

Rprop- and Rprop+: M. Riedmiller and H. Braun, "A direct adaptive method for faster
backpropagation learning: the RPROP algorithm", IEEE ICNN 1993 (Rprop+ is the paper's
algorithm, with weight-backtracking). iRprop- and iRprop+: C. Igel and M. Hüsken,
"Improving the Rprop learning algorithm", NC 2000. Per weight, with p = g * g_prev::

    Delta = delta0, g_prev = 0 (, previous update = 0, previous loss = inf)
    p > 0: Delta = min(Delta * eta_plus, delta_max)
    p < 0: Delta = max(Delta * eta_minus, delta_min), and
        rprop-   nothing more
        rprop+   undo the previous update, g = 0 (no move, nothing remembered)
        irprop-  g = 0                             (this is torch.optim.Rprop)
        irprop+  as rprop+, but undo only if the loss went up
    p = 0: Delta kept (clamped to [delta_min, delta_max])
    w -= sign(g) * Delta; g_prev = g
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from core.optimizers.entry import Array, OptimizerEntry
from core.optimizers.hyperparameters import hyperparameter, invalid, validate
from core.optimizers.rprop import RpropParams

__all__ = [
    "IRPROP_MINUS",
    "IRPROP_PLUS",
    "RPROP_MINUS",
    "RPROP_PLUS",
    "IrpropPlusState",
    "RpropFamilyParams",
    "RpropMinusState",
    "RpropPlusState",
    "irprop_minus_step",
    "irprop_plus_step",
    "rprop_minus_step",
    "rprop_plus_step",
]


@dataclass(frozen=True)
class RpropFamilyParams(RpropParams):
    """The tutorial's hyperparameters and bounds on the step (torch's defaults)."""

    delta_min: float = hyperparameter(1e-6, "Smallest step of each weight.", gt=0)
    delta_max: float = hyperparameter(50.0, "Largest step of each weight (>= delta_min).")

    def __post_init__(self) -> None:
        validate(self)
        if not self.delta_max >= self.delta_min:
            raise invalid("delta_max", f"must be >= delta_min ({self.delta_min})", self.delta_max)


@dataclass
class RpropMinusState:
    """Per start and weight: the step Delta and the previous gradient (Rprop-, iRprop-)."""

    step_size: Array
    prev_grad: Array

    @classmethod
    def initial(cls, starts: int, delta0: float) -> RpropMinusState:
        return cls(np.full((starts, 2), delta0), np.zeros((starts, 2)))


@dataclass
class RpropPlusState(RpropMinusState):
    """Also the previous update, to take it back (Rprop+)."""

    prev_update: Array

    @classmethod
    def initial(cls, starts: int, delta0: float) -> RpropPlusState:
        return cls(np.full((starts, 2), delta0), np.zeros((starts, 2)), np.zeros((starts, 2)))


@dataclass
class IrpropPlusState(RpropPlusState):
    """Also the previous loss per start, to take an update back only if it got worse."""

    prev_loss: NDArray[np.float64]

    @classmethod
    def initial(cls, starts: int, delta0: float) -> IrpropPlusState:
        zeros = np.zeros((starts, 2))
        return cls(np.full((starts, 2), delta0), zeros, zeros.copy(), np.full(starts, np.inf))


def _scale_step_size(
    state: RpropMinusState,
    product: Array,
    eta_plus: float,
    eta_minus: float,
    delta_min: float,
    delta_max: float,
) -> None:
    factor = np.where(product > 0, eta_plus, np.where(product < 0, eta_minus, 1.0))
    np.clip(state.step_size * factor, delta_min, delta_max, out=state.step_size)


def rprop_minus_step(
    state: RpropMinusState | None,
    weights: Array,
    grad: Array,
    *,
    eta_plus: float,
    eta_minus: float,
    delta0: float,
    delta_min: float,
    delta_max: float,
) -> RpropMinusState:
    """Rprop-: adapt Delta from the sign of g g_prev, then step against sign(g)."""
    if state is None:
        state = RpropMinusState.initial(weights.shape[0], delta0)
    _scale_step_size(state, grad * state.prev_grad, eta_plus, eta_minus, delta_min, delta_max)
    weights -= np.sign(grad) * state.step_size
    state.prev_grad = grad.copy()
    return state


def irprop_minus_step(
    state: RpropMinusState | None,
    weights: Array,
    grad: Array,
    *,
    eta_plus: float,
    eta_minus: float,
    delta0: float,
    delta_min: float,
    delta_max: float,
) -> RpropMinusState:
    """iRprop-: after a sign change the gradient counts as 0: no move, nothing remembered."""
    if state is None:
        state = RpropMinusState.initial(weights.shape[0], delta0)
    flipped = grad * state.prev_grad < 0
    _scale_step_size(state, grad * state.prev_grad, eta_plus, eta_minus, delta_min, delta_max)
    grad = np.where(flipped, 0.0, grad)
    weights -= np.sign(grad) * state.step_size
    state.prev_grad = grad
    return state


def _backtracking_step(
    state: RpropPlusState,
    weights: Array,
    grad: Array,
    undo: NDArray[np.bool_],
    eta_plus: float,
    eta_minus: float,
    delta_min: float,
    delta_max: float,
) -> None:
    """Rprop+'s step, taking back the previous update where a sign flipped and ``undo``."""
    flipped = grad * state.prev_grad < 0
    _scale_step_size(state, grad * state.prev_grad, eta_plus, eta_minus, delta_min, delta_max)
    update = np.where(flipped, 0.0, -np.sign(grad) * state.step_size)
    weights += update - np.where(flipped & undo, state.prev_update, 0.0)
    state.prev_update = np.where(flipped, 0.0, update)
    state.prev_grad = np.where(flipped, 0.0, grad)


def rprop_plus_step(
    state: RpropPlusState | None,
    weights: Array,
    grad: Array,
    *,
    eta_plus: float,
    eta_minus: float,
    delta0: float,
    delta_min: float,
    delta_max: float,
) -> RpropPlusState:
    """Rprop+: on a sign change, take back the previous update and forget the gradient."""
    if state is None:
        state = RpropPlusState.initial(weights.shape[0], delta0)
    undo = np.ones(grad.shape, dtype=bool)
    _backtracking_step(state, weights, grad, undo, eta_plus, eta_minus, delta_min, delta_max)
    return state


def irprop_plus_step(
    state: IrpropPlusState | None,
    weights: Array,
    grad: Array,
    loss: NDArray[np.float64],
    *,
    eta_plus: float,
    eta_minus: float,
    delta0: float,
    delta_min: float,
    delta_max: float,
) -> IrpropPlusState:
    """iRprop+: take back the previous update on a sign change only if the loss went up."""
    if state is None:
        state = IrpropPlusState.initial(weights.shape[0], delta0)
    worse = (loss > state.prev_loss)[:, None] & np.ones(grad.shape, dtype=bool)
    _backtracking_step(state, weights, grad, worse, eta_plus, eta_minus, delta_min, delta_max)
    state.prev_loss = loss.copy()
    return state


RPROP_MINUS = OptimizerEntry(
    name="rprop-",
    summary="Rprop- (Riedmiller and Braun 1993): bounded steps, no backtracking.",
    params=RpropFamilyParams,
    step=rprop_minus_step,
    sign_based=True,
)
RPROP_PLUS = OptimizerEntry(
    name="rprop+",
    summary="Rprop+ (Riedmiller and Braun 1993): bounded steps, undoes an update on a flip.",
    params=RpropFamilyParams,
    step=rprop_plus_step,
    sign_based=True,
)
IRPROP_MINUS = OptimizerEntry(
    name="irprop-",
    summary="iRprop- (Igel and Hüsken 2000): no move after a flip; torch.optim.Rprop.",
    params=RpropFamilyParams,
    step=irprop_minus_step,
    sign_based=True,
)
IRPROP_PLUS = OptimizerEntry(
    name="irprop+",
    summary="iRprop+ (Igel and Hüsken 2000): undoes an update on a flip if the loss rose.",
    params=RpropFamilyParams,
    step=irprop_plus_step,
    sign_based=True,
    needs_loss=True,
)
