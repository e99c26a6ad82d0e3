"""What an optimiser is to rnnlab: a registry entry, and the entry bound to hyperparameters.

Weights and gradients have shape (k, 2): columns (wx, wrec), one row per start. A step
function takes the state (None before the first step, when it makes it, as torch.optim
does), the weights (updated in place), the gradient, the loss where the entry says it
needs it, and the hyperparameters as keyword arguments; it returns the state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from functools import partial
from typing import Any

import numpy as np
from numpy.typing import NDArray

from core.optimizers.hyperparameters import Hyperparameter, describe

__all__ = ["Array", "Optimizer", "OptimizerEntry"]

Array = NDArray[np.float64]


@dataclass(frozen=True)
class OptimizerEntry:
    """One optimiser: its name, a one-line summary, its hyperparameter dataclass and its step.

    ``sign_based`` optimisers look only at the gradient's sign, so the training loop can
    accept a gradient as soon as its sign is certain; ``needs_loss`` ones are also given
    the loss at the weights before the step.
    """

    name: str
    summary: str
    params: type[Any]
    step: Callable[..., Any]
    sign_based: bool
    needs_loss: bool = False

    @property
    def hyperparameters(self) -> tuple[Hyperparameter, ...]:
        """Name, type, default, range and description of each hyperparameter, in order."""
        return describe(self.params)


@dataclass(frozen=True)
class Optimizer:
    """An entry bound to validated hyperparameters (``params``, an instance of entry.params)."""

    entry: OptimizerEntry
    params: Any
    _step: Callable[..., Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        values = {f.name: getattr(self.params, f.name) for f in fields(self.params)}
        object.__setattr__(self, "_step", partial(self.entry.step, **values))

    @property
    def name(self) -> str:
        return self.entry.name

    @property
    def sign_based(self) -> bool:
        return self.entry.sign_based

    @property
    def needs_loss(self) -> bool:
        return self.entry.needs_loss

    @property
    def hyperparameters(self) -> Mapping[str, Any]:
        """The bound values by name, defaults included."""
        return {f.name: getattr(self.params, f.name) for f in fields(self.params)}

    def step(self, state: Any, weights: Array, grad: Array, loss: Array | None = None) -> Any:
        """Advance every start by one iteration; returns the state to pass next time.

        ``state`` is None on the first call; ``loss`` is used only where ``needs_loss``.
        """
        if self.entry.needs_loss:
            return self._step(state, weights, grad, loss)
        return self._step(state, weights, grad)
