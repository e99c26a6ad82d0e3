"""core.optimizers.rprop: the tutorial's RProp, run for run and step by step."""

from __future__ import annotations

import numpy as np
import pytest

from core.datasets import tutorial_dataset
from core.optimizers import make_optimizer
from core.optimizers.rprop import RPROP, RpropParams, RpropState, rprop_step
from core.training import train
from tests.core._reference import (
    RPROP_END,
    RPROP_ITERATIONS,
    RPROP_PRINTED,
    RPROP_START,
    tutorial_rprop,
)
from tests.core.optimizers._gradient import bptt_grad


def test_the_tutorials_run_ends_where_the_tutorial_prints() -> None:
    result = train(tutorial_dataset(), make_optimizer("rprop"), RPROP_START, RPROP_ITERATIONS)
    assert result.iterations == RPROP_ITERATIONS
    assert f"wx = {result.wx:.4f},  wRec = {result.wrec:.4f}" == RPROP_PRINTED
    assert (result.wx, result.wrec) == RPROP_END  # to the bit


def test_the_tutorials_run_is_its_loop_step_for_step() -> None:
    result = train(tutorial_dataset(), make_optimizer("rprop"), RPROP_START, RPROP_ITERATIONS)
    assert result.trajectory is not None
    path = np.asarray(tutorial_rprop(bptt_grad, list(RPROP_START), RPROP_ITERATIONS))
    np.testing.assert_array_equal(result.trajectory.wx, path[:, 0])
    np.testing.assert_array_equal(result.trajectory.wrec, path[:, 1])


def test_the_first_step_shrinks_then_the_step_grows_without_bounds() -> None:
    w = np.array([[0.0, 0.0]])
    state = rprop_step(None, w, np.array([[3.0, -2.0]]), eta_plus=1.2, eta_minus=0.5, delta0=0.001)
    np.testing.assert_allclose(state.step_size, [[0.0005, 0.0005]])  # previous sign 0
    np.testing.assert_allclose(w, [[-0.0005, 0.0005]])
    np.testing.assert_array_equal(state.prev_sign, [[1.0, -1.0]])
    for _ in range(60):
        state = rprop_step(
            state, w, np.array([[3.0, 5.0]]), eta_plus=1.2, eta_minus=0.5, delta0=0.001
        )
    assert state.step_size[0, 0] == pytest.approx(0.0005 * 1.2**60, rel=1e-12)  # no delta_max
    assert state.step_size[0, 1] == pytest.approx(0.0005 * 0.5 * 1.2**59, rel=1e-12)


def test_a_zero_gradient_keeps_still_and_counts_as_the_same_sign() -> None:
    # sign(0) == previous sign 0 is "same sign" in the tutorial's comparison.
    w = np.array([[1.0, 1.0]])
    state = rprop_step(None, w, np.zeros((1, 2)), eta_plus=1.2, eta_minus=0.5, delta0=0.001)
    np.testing.assert_array_equal(w, [[1.0, 1.0]])
    np.testing.assert_allclose(state.step_size, [[0.0012, 0.0012]])


def test_state_is_made_on_the_first_step_one_row_per_start() -> None:
    w = np.zeros((3, 2))
    state = rprop_step(None, w, np.ones((3, 2)), eta_plus=1.2, eta_minus=0.5, delta0=0.01)
    assert isinstance(state, RpropState)
    assert state.step_size.shape == state.prev_sign.shape == (3, 2)
    assert rprop_step(state, w, np.ones((3, 2)), eta_plus=1.2, eta_minus=0.5, delta0=0.01) is state


def test_the_entry() -> None:
    assert RPROP.name == "rprop"
    assert RPROP.sign_based
    assert not RPROP.needs_loss
    assert RPROP.params is RpropParams
    assert RpropParams() == RpropParams(eta_plus=1.2, eta_minus=0.5, delta0=0.001)
