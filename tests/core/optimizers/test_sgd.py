"""core.optimizers.sgd: gradient descent, momentum, Nesterov, clipping, against a plain loop."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

from core.datasets import tutorial_dataset
from core.errors import InvalidInputError
from core.optimizers import make_optimizer
from core.optimizers.sgd import SGD, SgdParams, sgd_step
from core.training import train
from tests.core.optimizers._gradient import bptt_grad


def test_plain_gradient_descent_diverges_from_the_tutorials_start() -> None:
    # The tutorial's warning: at (-1.5, 2) the gradient is ~1e6, so even lr = 1e-6 jumps.
    result = train(tutorial_dataset(), make_optimizer("sgd", learning_rate=1e-6), (-1.5, 2.0), 500)
    assert result.diverged
    assert not result.converged
    assert not (np.isfinite(result.wx) and np.isfinite(result.wrec))
    assert result.iterations < 500  # stops once the weights are gone


def test_clipping_keeps_gradient_descent_finite() -> None:
    opt = make_optimizer("sgd", learning_rate=1e-2, clip_norm=1.0)
    result = train(tutorial_dataset(), opt, (-1.5, 2.0), 500)
    assert not result.diverged
    assert np.isfinite(result.wx)
    assert np.isfinite(result.wrec)
    assert result.trajectory is not None
    steps = np.hypot(np.diff(result.trajectory.wx), np.diff(result.trajectory.wrec))
    assert steps.max() <= 1e-2 * (1 + 1e-12)  # |lr g| <= lr clip_norm
    assert result.loss < result.trajectory.loss[0]


def _hand_sgd(
    lr: float,
    momentum: float,
    nesterov: bool,
    clip: float | None,
    start: tuple[float, float],
    iterations: int,
) -> np.ndarray:
    w = np.array(start, dtype=np.float64)
    buf = np.zeros(2)
    path = [w.copy()]
    for _ in range(iterations):
        g = np.array(bptt_grad(float(w[0]), float(w[1])))
        if clip is not None and np.hypot(*g) > clip:
            g = g * clip / np.hypot(*g)
        buf = momentum * buf + g
        d = (g + momentum * buf if nesterov else buf) if momentum else g
        w = w - lr * d
        path.append(w.copy())
    return np.array(path)


@pytest.mark.parametrize(
    ("params", "start"),
    [
        ({"learning_rate": 1e-3}, (0.5, 0.5)),
        ({"learning_rate": 5e-4, "momentum": 0.9}, (0.5, 0.5)),
        ({"learning_rate": 5e-4, "momentum": 0.8, "nesterov": True}, (1.5, 0.2)),
        ({"learning_rate": 0.01, "momentum": 0.5, "clip_norm": 2.0}, (-1.5, 2.0)),
    ],
)
def test_variants_equal_a_hand_rolled_loop(
    params: dict[str, Any], start: tuple[float, float]
) -> None:
    result = train(tutorial_dataset(), make_optimizer("sgd", **params), start, 100)
    assert result.trajectory is not None
    assert result.iterations == 100
    assert not result.diverged
    ref = _hand_sgd(
        params["learning_rate"],
        params.get("momentum", 0.0),
        params.get("nesterov", False),
        params.get("clip_norm"),
        start,
        100,
    )
    np.testing.assert_allclose(result.trajectory.wx, ref[:, 0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(result.trajectory.wrec, ref[:, 1], rtol=1e-9, atol=1e-12)


def test_clipping_a_zero_gradient_is_silent() -> None:
    # At the optimum the gradient is exactly 0: nothing to clip, no division by its norm.
    w = np.array([[1.0, 1.0], [0.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sgd_step(
            None,
            w,
            np.array([[0.0, 0.0], [3.0, 4.0]]),
            learning_rate=0.1,
            momentum=0.0,
            nesterov=False,
            clip_norm=1.0,
        )
    np.testing.assert_allclose(w, [[1.0, 1.0], [-0.06, -0.08]])


def test_step_by_hand() -> None:
    w = np.zeros((2, 2))
    g = np.array([[3.0, 4.0], [0.3, 0.4]])
    state = sgd_step(None, w, g, learning_rate=0.1, momentum=0.5, nesterov=True, clip_norm=1.0)
    # Row 0 is clipped to norm 1 (0.6, 0.8), row 1 is short enough to keep.
    np.testing.assert_allclose(state.momentum, [[0.6, 0.8], [0.3, 0.4]])
    np.testing.assert_allclose(w, [[-0.09, -0.12], [-0.045, -0.06]])  # d = g + 0.5 b
    sgd_step(state, w, g, learning_rate=0.1, momentum=0.5, nesterov=False, clip_norm=None)
    np.testing.assert_allclose(state.momentum, [[3.3, 4.4], [0.45, 0.6]])
    np.testing.assert_allclose(w, [[-0.42, -0.56], [-0.09, -0.12]])


def test_without_momentum_the_buffer_stays_zero() -> None:
    w = np.zeros((1, 2))
    kwargs: dict[str, Any] = {"learning_rate": 0.5, "momentum": 0.0, "nesterov": False}
    state = sgd_step(None, w, np.array([[1.0, -2.0]]), clip_norm=None, **kwargs)
    state = sgd_step(state, w, np.array([[1.0, -2.0]]), clip_norm=None, **kwargs)
    np.testing.assert_array_equal(state.momentum, np.zeros((1, 2)))
    np.testing.assert_array_equal(w, [[-1.0, 2.0]])


def test_the_entry_and_its_cross_field_rule() -> None:
    assert SGD.name == "sgd"
    assert not SGD.sign_based
    assert SGD.params is SgdParams
    assert SgdParams(momentum=0.9, nesterov=True).nesterov
    with pytest.raises(InvalidInputError) as info:
        SgdParams(nesterov=True)
    assert info.value.field == "optimizer.nesterov"
    assert info.value.message == "needs momentum > 0, got True"
