"""Every optimiser by name, and ``make_optimizer``: validate hyperparameters, bind them.

Adding an optimiser is one entry (its module: hyperparameters, state, step) listed here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.errors import InvalidInputError
from core.optimizers.entry import Optimizer, OptimizerEntry
from core.optimizers.rprop import RPROP
from core.optimizers.rprop_family import IRPROP_MINUS, IRPROP_PLUS, RPROP_MINUS, RPROP_PLUS
from core.optimizers.sgd import SGD

__all__ = ["OPTIMIZERS", "OPTIMIZER_NAMES", "make_optimizer"]

OPTIMIZERS: Mapping[str, OptimizerEntry] = {
    entry.name: entry for entry in (RPROP, RPROP_MINUS, RPROP_PLUS, IRPROP_MINUS, IRPROP_PLUS, SGD)
}
OPTIMIZER_NAMES: tuple[str, ...] = tuple(OPTIMIZERS)


def make_optimizer(name: str, **hyperparameters: Any) -> Optimizer:
    """The optimiser ``name`` with the given hyperparameters (None or left out: the default).

    Errors name the field: ``optimizer.name``, or ``optimizer.<hyperparameter>`` for one
    the optimiser does not take or a value out of its range.
    """
    entry = OPTIMIZERS.get(name)
    if entry is None:
        raise InvalidInputError(
            "optimizer.name", f"must be one of {', '.join(OPTIMIZER_NAMES)}; got {name!r}"
        )
    known = [h.name for h in entry.hyperparameters]
    unknown = sorted(set(hyperparameters) - set(known))
    if unknown:
        raise InvalidInputError(
            f"optimizer.{unknown[0]}",
            f"is not a hyperparameter of {name!r} (it takes {', '.join(known)})",
        )
    given = {key: value for key, value in hyperparameters.items() if value is not None}
    return Optimizer(entry, entry.params(**given))
