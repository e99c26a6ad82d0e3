"""rnnlab's core: the tutorial's linear RNN in NumPy, with no web imports.

datasets -> model (forward, loss) -> bptt (reference gradients) -> fastpath (the same
numbers from polynomial statistics) -> point (one point by the cheaper path), surface
(over a window), gradcheck, optimizers, training, predict.
"""

from core.bptt import Gradient, gradient
from core.datasets import GENERATORS, Dataset, from_sequences, generate, tutorial_dataset
from core.errors import InvalidInputError, RnnlabError
from core.fastpath import Statistics, statistics
from core.gradcheck import GradientCheck, check_gradient, numerical_gradient
from core.model import forward_states, loss, losses_at, outputs
from core.optimizers import OPTIMIZER_NAMES, OPTIMIZERS, Optimizer, OptimizerEntry, make_optimizer
from core.point import PointGradient, point_gradient, point_loss
from core.predict import counts, predict
from core.surface import (
    TUTORIAL_POINTS,
    GradientOverTime,
    LossSurface,
    evaluation_cost,
    gradient_over_time,
    loss_grid,
    loss_surface,
    loss_surface_on,
)
from core.training import (
    MultiStartResult,
    Progress,
    TrainingResult,
    Trajectory,
    grid_starts,
    train,
    train_many,
)
from core.window import Window

__all__ = [
    "GENERATORS",
    "OPTIMIZERS",
    "OPTIMIZER_NAMES",
    "TUTORIAL_POINTS",
    "Dataset",
    "Gradient",
    "GradientCheck",
    "GradientOverTime",
    "InvalidInputError",
    "LossSurface",
    "MultiStartResult",
    "Optimizer",
    "OptimizerEntry",
    "PointGradient",
    "Progress",
    "RnnlabError",
    "Statistics",
    "TrainingResult",
    "Trajectory",
    "Window",
    "check_gradient",
    "counts",
    "evaluation_cost",
    "forward_states",
    "from_sequences",
    "generate",
    "gradient",
    "gradient_over_time",
    "grid_starts",
    "loss",
    "loss_grid",
    "loss_surface",
    "loss_surface_on",
    "losses_at",
    "make_optimizer",
    "numerical_gradient",
    "outputs",
    "point_gradient",
    "point_loss",
    "predict",
    "statistics",
    "train",
    "train_many",
    "tutorial_dataset",
]
