"""core.optimizers.entry: an entry bound to its hyperparameters steps like its function."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.bptt import gradient
from core.datasets import tutorial_dataset
from core.optimizers import OPTIMIZERS, Optimizer, OptimizerEntry, make_optimizer
from core.optimizers.hyperparameters import hyperparameter, validate
from core.optimizers.rprop_family import irprop_plus_step
from core.optimizers.sgd import sgd_step
from core.training import train

GRADS = [np.array([[3.0, -1.0], [0.5, 2.0]]), np.array([[-1.0, -2.0], [0.5, -2.0]])]


def test_a_bound_optimizer_steps_like_its_function_with_its_hyperparameters() -> None:
    opt = make_optimizer("sgd", learning_rate=0.1, momentum=0.5, clip_norm=1.0)
    w_bound, w_plain = np.zeros((2, 2)), np.zeros((2, 2))
    state = plain = None
    for g in GRADS:
        state = opt.step(state, w_bound, g)
        plain = sgd_step(
            plain, w_plain, g, learning_rate=0.1, momentum=0.5, nesterov=False, clip_norm=1.0
        )
    np.testing.assert_array_equal(w_bound, w_plain)


def test_the_loss_reaches_the_step_only_where_the_entry_needs_it() -> None:
    opt = make_optimizer("irprop+")
    assert opt.needs_loss
    w_bound, w_plain = np.zeros((2, 2)), np.zeros((2, 2))
    state = plain = None
    for g, loss in zip(GRADS, [np.array([1.0, 1.0]), np.array([2.0, 0.5])], strict=True):
        state = opt.step(state, w_bound, g, loss)
        plain = irprop_plus_step(plain, w_plain, g, loss, **dict(opt.hyperparameters))
    np.testing.assert_array_equal(w_bound, w_plain)
    assert state is not None
    np.testing.assert_array_equal(state.prev_loss, [2.0, 0.5])
    # Others ignore it.
    rprop = make_optimizer("rprop")
    assert not rprop.needs_loss
    w = np.zeros((1, 2))
    rprop.step(None, w, np.ones((1, 2)), np.array([np.nan]))
    np.testing.assert_array_equal(w, [[-0.0005, -0.0005]])


def test_a_bound_optimizer_speaks_for_its_entry() -> None:
    for name, entry in OPTIMIZERS.items():
        opt = make_optimizer(name)
        assert (opt.name, opt.sign_based, opt.needs_loss) == (
            entry.name,
            entry.sign_based,
            entry.needs_loss,
        )
        assert opt.params == entry.params()
        assert list(opt.hyperparameters) == [h.name for h in entry.hyperparameters]


def test_a_new_entry_trains_without_touching_the_loop() -> None:
    # Sign descent, w -= lr sign(g): an entry of a few lines is all an optimiser needs.
    @dataclass(frozen=True)
    class SignParams:
        lr: float = hyperparameter(0.01, "Step.", gt=0)

        def __post_init__(self) -> None:
            validate(self)

    def sign_step(state: None, weights: np.ndarray, grad: np.ndarray, *, lr: float) -> None:
        """w -= lr sign(g)."""
        weights -= lr * np.sign(grad)

    entry = OptimizerEntry("sign", "Sign descent.", SignParams, sign_step, sign_based=True)
    ds = tutorial_dataset()
    result = train(ds, Optimizer(entry, SignParams(lr=0.25)), (0.5, 0.5), 6)
    assert result.trajectory is not None
    w = [0.5, 0.5]
    for wx, wrec in zip(result.trajectory.wx[1:], result.trajectory.wrec[1:], strict=True):
        g = gradient(ds, w[0], w[1])
        w = [w[0] - 0.25 * float(np.sign(g.wx)), w[1] - 0.25 * float(np.sign(g.wrec))]
        assert (wx, wrec) == (w[0], w[1])
    # Two steps up the valley reach (1, 1), where the gradient is exactly zero.
    assert (result.wx, result.wrec, result.iterations, result.converged) == (1.0, 1.0, 3, True)
