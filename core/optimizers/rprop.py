"""RProp as the tutorial runs it: sign comparison with 0 included, no bounds on the step.

From "How to implement an RNN (1/2) - Minimal example", section "RProp optimisation",
after M. Riedmiller and H. Braun, "A direct adaptive method for faster backpropagation
learning: the RPROP algorithm", IEEE ICNN 1993. Per weight::

    Delta = delta0, previous sign = 0                     (made on the first step)
    each iteration:
        s = sign(g)
        Delta *= eta_plus if s == previous sign else eta_minus
        w -= s * Delta
        previous sign = s

The previous sign starts at 0, so the first step shrinks Delta. Its robustness to the
exploding gradients of |wrec| > 1 is why the tutorial uses it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.optimizers.entry import Array, OptimizerEntry
from core.optimizers.hyperparameters import hyperparameter, validate

__all__ = ["RPROP", "RpropParams", "RpropState", "rprop_step"]


@dataclass(frozen=True)
class RpropParams:
    """The tutorial's hyperparameters: 1.2, 0.5 and a first step of 0.001."""

    eta_plus: float = hyperparameter(1.2, "Factor growing the step while the sign holds.", gt=1)
    eta_minus: float = hyperparameter(
        0.5, "Factor shrinking the step when the sign changes.", gt=0, lt=1
    )
    delta0: float = hyperparameter(0.001, "Initial step of each weight.", gt=0)

    def __post_init__(self) -> None:
        validate(self)


@dataclass
class RpropState:
    """Per start and weight: the step Delta and the sign of the previous gradient."""

    step_size: Array
    prev_sign: Array

    @classmethod
    def initial(cls, starts: int, delta0: float) -> RpropState:
        return cls(np.full((starts, 2), delta0), np.zeros((starts, 2)))


def rprop_step(
    state: RpropState | None,
    weights: Array,
    grad: Array,
    *,
    eta_plus: float,
    eta_minus: float,
    delta0: float,
) -> RpropState:
    """One iteration of the tutorial's RProp on every start (weights updated in place)."""
    if state is None:
        state = RpropState.initial(weights.shape[0], delta0)
    sign = np.sign(grad)
    state.step_size *= np.where(sign == state.prev_sign, eta_plus, eta_minus)
    weights -= sign * state.step_size
    state.prev_sign = sign
    return state


RPROP = OptimizerEntry(
    name="rprop",
    summary="The tutorial's RProp: signs compared with 0 included, no bounds on the step.",
    params=RpropParams,
    step=rprop_step,
    sign_based=True,
)
