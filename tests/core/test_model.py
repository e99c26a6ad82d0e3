"""core.model: the forward pass, the loss and the loss at many points."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import core.model
from core.datasets import from_sequences, generate, tutorial_dataset
from core.model import forward_states, loss, losses_at, outputs, update_state
from tests.core._reference import (
    TUTORIAL_VALUES,
    UNDERFLOW,
    datasets,
    default_targets,
    exact,
    finite_weight,
    rel_close,
    rounding_slack,
    stable_wrec,
)

Data = tuple[list[list[float]], list[float] | None]


@pytest.mark.parametrize(("point", "expected"), TUTORIAL_VALUES.items())
def test_loss_reproduces_the_reference_table(
    point: tuple[float, float], expected: tuple[float, float, float]
) -> None:
    ds = tutorial_dataset()
    assert loss(ds, *point) == pytest.approx(expected[0], rel=1e-12)
    assert float(losses_at(ds, *point)) == pytest.approx(expected[0], rel=1e-12)


def test_forward_states_start_at_zero_and_follow_the_recurrence() -> None:
    X = np.array([[1.0, 0.0, 1.0], [0.5, -2.0, 3.0]])
    S = forward_states(X, 2.0, 0.5)
    assert S.shape == (2, 4)
    np.testing.assert_array_equal(S[:, 0], 0.0)
    for k in range(3):
        np.testing.assert_array_equal(S[:, k + 1], S[:, k] * 0.5 + X[:, k] * 2.0)
    np.testing.assert_array_equal(S[0], [0.0, 2.0, 1.0, 2.5])
    np.testing.assert_array_equal(update_state(np.array([1.0]), np.array([3.0]), 2.0, -1.0), [-1.0])


def test_outputs_are_the_last_states() -> None:
    ds = tutorial_dataset()
    np.testing.assert_array_equal(outputs(ds, 1.3, 0.7), forward_states(ds.inputs, 1.3, 0.7)[:, -1])


def test_the_optimum_counts_exactly() -> None:
    ds = tutorial_dataset()
    np.testing.assert_array_equal(outputs(ds, 1.0, 1.0), ds.targets)
    assert loss(ds, 1.0, 1.0) == 0.0


def test_losses_at_broadcasts_points() -> None:
    ds = tutorial_dataset()
    wx = np.array([-1.0, 0.5, 2.0, 3.0])
    wrec = np.array([[-0.5], [0.0], [1.5]])
    grid = losses_at(ds, wx, wrec)
    assert grid.shape == (3, 4)
    for i in range(3):
        for j in range(4):
            assert grid[i, j] == pytest.approx(loss(ds, wx[j], wrec[i, 0]), rel=1e-13)


def test_blocking_does_not_change_any_value(monkeypatch: pytest.MonkeyPatch) -> None:
    ds = generate(300, min_length=2, max_length=15, seed=4)
    wx = np.linspace(-2, 2, 7)
    wrec = np.linspace(-1.2, 1.2, 5)[:, None]
    whole_outputs = outputs(ds, 0.9, 1.1)
    whole_grid = losses_at(ds, wx, wrec)
    monkeypatch.setattr(core.model, "_BLOCK_ELEMENTS", 40)  # a few rows and points per block
    np.testing.assert_array_equal(outputs(ds, 0.9, 1.1), whole_outputs)
    np.testing.assert_allclose(losses_at(ds, wx, wrec), whole_grid, rtol=1e-13)


def _no_warnings(fn: Any, *args: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*args)


def test_overflow_is_carried_as_inf_not_raised() -> None:
    ds = generate(50, 200, seed=0)
    assert _no_warnings(loss, ds, 1.0, 1e40) == np.inf
    assert np.isinf(_no_warnings(outputs, ds, 1.0, 1e40)).any()
    grid = _no_warnings(losses_at, ds, np.array([1.0, 1.0]), np.array([1e40, 0.5]))
    assert grid[0] == np.inf
    assert np.isfinite(grid[1])


def test_alternating_overflow_is_inf_too() -> None:
    ds = tutorial_dataset()
    assert loss(ds, 1.0, -1e300) == np.inf
    assert float(losses_at(ds, 1.0, -1e300)) == np.inf


@settings(max_examples=40, deadline=None)
@given(datasets(), finite_weight, stable_wrec)
def test_loss_is_the_exact_loss_up_to_rounding(data: Data, wx: float, wrec: float) -> None:
    rows, targets = data
    ds = from_sequences(rows, targets)
    ref = exact(rows, default_targets(rows, targets), wx, wrec)
    slack = rounding_slack(ds.n_samples, ds.width) * ref.loss_scale + UNDERFLOW
    assert rel_close(loss(ds, wx, wrec), ref.loss, 0.0, slack)
    assert rel_close(float(losses_at(ds, wx, wrec)), ref.loss, 0.0, slack)


@settings(max_examples=40, deadline=None)
@given(datasets(), st.lists(st.integers(0, 6), min_size=5, max_size=5), finite_weight, stable_wrec)
def test_left_padding_leaves_outputs_and_loss_unchanged(
    data: Data, pads: list[int], wx: float, wrec: float
) -> None:
    rows, targets = data
    tg = default_targets(rows, targets)
    padded = [[0.0] * pad + row for pad, row in zip(pads, rows, strict=False)] + rows[len(pads) :]
    a, b = from_sequences(rows, tg), from_sequences(padded, tg)
    np.testing.assert_array_equal(outputs(b, wx, wrec), outputs(a, wx, wrec))
    assert loss(b, wx, wrec) == loss(a, wx, wrec)
    np.testing.assert_array_equal(
        losses_at(b, [wx, -wx], [wrec, 0.5]), losses_at(a, [wx, -wx], [wrec, 0.5])
    )


# --- time-major loops at long T ------------------------------------------------------------


def _row_major_states(X: np.ndarray, wx: float, wrec: float) -> np.ndarray:
    """The recurrence on (n, T) columns, as the tutorial writes it."""
    S = np.zeros((X.shape[0], X.shape[1] + 1))
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(X.shape[1]):
            S[:, k + 1] = X[:, k] * wx + S[:, k] * wrec
    return S


@pytest.mark.parametrize(("wx", "wrec"), [(0.5, 1.0), (1.2, -1.001), (2.0, 5.0), (1.0, 0.0)])
def test_time_major_forward_pass_equals_the_row_major_loop_to_the_bit(
    wx: float, wrec: float
) -> None:
    ds = generate(29, min_length=1, max_length=1100, seed=4)
    X = ds.inputs.astype(np.float64)
    S = _row_major_states(X, wx, wrec)
    np.testing.assert_array_equal(forward_states(ds.inputs, wx, wrec), S)
    np.testing.assert_array_equal(outputs(ds, wx, wrec), S[:, -1])
    w = np.array([wx, 0.5 * wx])
    r = np.array([wrec, 0.999])
    with np.errstate(over="ignore", invalid="ignore"):
        expected = np.array(
            [
                np.mean((ds.targets - _row_major_states(X, a, b)[:, -1]) ** 2)
                for a, b in zip(w, r, strict=True)
            ]
        )
    np.testing.assert_array_equal(losses_at(ds, w, r), expected)


@pytest.mark.parametrize("shape", [(1, 7), (6, 1), (1, 1)])
def test_the_inputs_are_left_as_they_were(shape: tuple[int, int]) -> None:
    """A single row or column transposes without a copy: the loops must only read it."""
    X = np.arange(1.0, 1.0 + shape[0] * shape[1]).reshape(shape)
    ds = from_sequences(X.tolist(), [1.0] * shape[0])
    before = ds.inputs.copy()
    outputs(ds, 2.0, 0.5)
    forward_states(ds.inputs, 2.0, 0.5)
    losses_at(ds, [2.0, 1.0], [0.5, 0.5])
    np.testing.assert_array_equal(ds.inputs, before)
