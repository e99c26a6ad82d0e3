"""Optimisers, one registry entry each, vectorised over k starting points.

Each entry (``OptimizerEntry``) is a name, a one-line summary, a frozen dataclass of
hyperparameters whose fields carry default, range and description (``describe`` reads
them), a state type made on the first step, and a step function with keyword-only
hyperparameters. ``make_optimizer`` validates and binds; ``OPTIMIZERS`` lists them all:

    rprop     the tutorial's RProp (core.optimizers.rprop)
    rprop-, rprop+, irprop-, irprop+
              the bounded RProp family (core.optimizers.rprop_family)
    sgd       gradient descent, momentum, Nesterov, clipping (core.optimizers.sgd)
"""

from core.optimizers.entry import Optimizer, OptimizerEntry
from core.optimizers.hyperparameters import Hyperparameter, Limit, describe
from core.optimizers.registry import OPTIMIZER_NAMES, OPTIMIZERS, make_optimizer

__all__ = [
    "OPTIMIZERS",
    "OPTIMIZER_NAMES",
    "Hyperparameter",
    "Limit",
    "Optimizer",
    "OptimizerEntry",
    "describe",
    "make_optimizer",
]
