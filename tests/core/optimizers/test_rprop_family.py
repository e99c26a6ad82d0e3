"""core.optimizers.rprop_family: Rprop-, Rprop+, iRprop-, iRprop+ by hand, and iRprop- = torch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from core.datasets import tutorial_dataset
from core.errors import InvalidInputError
from core.optimizers import make_optimizer
from core.optimizers.rprop_family import (
    IRPROP_MINUS,
    IRPROP_PLUS,
    RPROP_MINUS,
    RPROP_PLUS,
    IrpropPlusState,
    RpropFamilyParams,
    RpropMinusState,
    RpropPlusState,
    irprop_minus_step,
    irprop_plus_step,
    rprop_minus_step,
    rprop_plus_step,
)
from core.training import train
from tests.core._reference import optional_reference, plain_irprop_minus
from tests.core.optimizers._gradient import bptt_grad

# One start, two weights fed the fake gradients below (column 0: a run, a flip, a zero;
# column 1: alternating signs). eta+ = 2 and the bounds [0.03, 0.3] make every rule show.
GRADS = np.array([[1, 1], [1, -1], [1, 1], [-1, -1], [-1, 1], [0, -1], [1, 1]], dtype=np.float64)
LOSSES = [5.0, 4.0, 3.0, 3.5, 3.2, 3.0, 2.9]
BOUNDED = {"eta_plus": 2.0, "eta_minus": 0.5, "delta0": 0.1, "delta_min": 0.03, "delta_max": 0.3}


def _run_steps(step: Callable[..., Any], with_loss: bool = False) -> tuple[np.ndarray, np.ndarray]:
    state = None
    weights = np.zeros((1, 2))
    ws, deltas = [], []
    for g, loss in zip(GRADS, LOSSES, strict=True):
        if with_loss:
            state = step(state, weights, g[None, :].copy(), np.array([loss]), **BOUNDED)
        else:
            state = step(state, weights, g[None, :].copy(), **BOUNDED)
        ws.append(weights[0].copy())
        deltas.append(state.step_size[0].copy())
    return np.array(ws), np.array(deltas)


def test_rprop_minus_by_hand() -> None:
    ws, deltas = _run_steps(rprop_minus_step)
    np.testing.assert_allclose(
        deltas[:, 0], [0.1, 0.2, 0.3, 0.15, 0.3, 0.3, 0.3], atol=1e-15
    )  # grow, clamp to delta_max, shrink, grow, keep on a zero product
    np.testing.assert_allclose(ws[:, 0], [-0.1, -0.3, -0.6, -0.45, -0.15, -0.15, -0.45], atol=1e-12)
    np.testing.assert_allclose(
        deltas[:, 1], [0.1, 0.05, 0.03, 0.03, 0.03, 0.03, 0.03], atol=1e-15
    )  # shrink, clamped to delta_min
    np.testing.assert_allclose(
        ws[:, 1], [-0.1, -0.05, -0.08, -0.05, -0.08, -0.05, -0.08], atol=1e-12
    )


def test_irprop_minus_by_hand() -> None:
    ws, deltas = _run_steps(irprop_minus_step)
    np.testing.assert_allclose(deltas[:, 0], [0.1, 0.2, 0.3, 0.15, 0.15, 0.15, 0.15], atol=1e-15)
    # After the flip: no move, and the next step (product 0) moves without growing.
    np.testing.assert_allclose(ws[:, 0], [-0.1, -0.3, -0.6, -0.6, -0.45, -0.45, -0.6], atol=1e-12)
    np.testing.assert_allclose(deltas[:, 1], [0.1, 0.05, 0.05, 0.03, 0.03, 0.03, 0.03], atol=1e-15)
    np.testing.assert_allclose(
        ws[:, 1], [-0.1, -0.1, -0.15, -0.15, -0.18, -0.18, -0.21], atol=1e-12
    )


def test_rprop_plus_by_hand() -> None:
    ws, deltas = _run_steps(rprop_plus_step)
    np.testing.assert_allclose(deltas[:, 0], [0.1, 0.2, 0.3, 0.15, 0.15, 0.15, 0.15], atol=1e-15)
    # The flip takes back the previous update (-0.3), then moves on from there.
    np.testing.assert_allclose(ws[:, 0], [-0.1, -0.3, -0.6, -0.3, -0.15, -0.15, -0.3], atol=1e-12)
    np.testing.assert_allclose(ws[:, 1], [-0.1, 0.0, -0.05, 0.0, -0.03, 0.0, -0.03], atol=1e-12)


def test_irprop_plus_by_hand() -> None:
    ws, deltas = _run_steps(irprop_plus_step, with_loss=True)
    np.testing.assert_allclose(deltas[:, 0], [0.1, 0.2, 0.3, 0.15, 0.15, 0.15, 0.15], atol=1e-15)
    # Step 4: the loss went up (3 -> 3.5), so the flip backtracks...
    np.testing.assert_allclose(ws[:, 0], [-0.1, -0.3, -0.6, -0.3, -0.15, -0.15, -0.3], atol=1e-12)
    # ...steps 2 and 6: the loss went down, so the flip only stops.
    np.testing.assert_allclose(ws[:, 1], [-0.1, -0.1, -0.15, -0.1, -0.13, -0.13, -0.16], atol=1e-12)


@pytest.mark.parametrize(
    ("step", "state_type"),
    [
        (rprop_minus_step, RpropMinusState),
        (irprop_minus_step, RpropMinusState),
        (rprop_plus_step, RpropPlusState),
    ],
)
def test_state_is_made_on_the_first_step(step: Callable[..., Any], state_type: type) -> None:
    w = np.zeros((3, 2))
    state = step(None, w, np.ones((3, 2)), **BOUNDED)
    assert type(state) is state_type
    assert state.step_size.shape == (3, 2)
    np.testing.assert_array_equal(state.step_size, 0.1)  # first product is 0: Delta kept
    assert step(state, w, np.ones((3, 2)), **BOUNDED) is state


def test_irprop_plus_state_starts_with_an_infinite_loss() -> None:
    state = irprop_plus_step(
        None, np.zeros((2, 2)), np.ones((2, 2)), np.array([1.0, 2.0]), **BOUNDED
    )
    assert isinstance(state, IrpropPlusState)
    np.testing.assert_array_equal(state.prev_loss, [1.0, 2.0])


def test_steps_are_independent_per_start() -> None:
    opt = make_optimizer("irprop-")
    starts = [[0.0, 0.0], [5.0, 5.0], [1.0, -1.0]]
    w = np.array(starts)
    grads = [
        np.array([[1.0, -1.0], [2.0, 2.0], [-3.0, 0.0]]),
        np.array([[-1.0, -1.0], [2.0, -2.0], [-3.0, 1.0]]),
    ]
    state = None
    for g in grads:
        state = opt.step(state, w, g)
    for i, start in enumerate(starts):
        single = np.array([start])
        one = None
        for g in grads:
            one = opt.step(one, single, g[i : i + 1].copy())
        assert one is not None
        assert state is not None
        np.testing.assert_array_equal(single[0], w[i])
        np.testing.assert_array_equal(one.step_size[0], state.step_size[i])


def test_entries_share_the_bounded_hyperparameters() -> None:
    for entry in (RPROP_MINUS, RPROP_PLUS, IRPROP_MINUS, IRPROP_PLUS):
        assert entry.params is RpropFamilyParams
        assert entry.sign_based
        assert entry.needs_loss == (entry is IRPROP_PLUS)
    assert RpropFamilyParams() == RpropFamilyParams(1.2, 0.5, 0.001, 1e-6, 50.0)


@pytest.mark.parametrize(("delta_min", "delta_max"), [(1.0, 0.5), (1e-3, 1e-4)])
def test_delta_max_below_delta_min_is_rejected(delta_min: float, delta_max: float) -> None:
    with pytest.raises(InvalidInputError) as info:
        RpropFamilyParams(delta_min=delta_min, delta_max=delta_max)
    assert info.value.field == "optimizer.delta_max"
    assert info.value.message == f"must be >= delta_min ({delta_min}), got {delta_max}"
    assert RpropFamilyParams(delta_min=0.5, delta_max=0.5).delta_max == 0.5


# --- iRprop- is torch.optim.Rprop -----------------------------------------------------------


def _core_irprop_path(iterations: int, start: tuple[float, float]) -> np.ndarray:
    result = train(tutorial_dataset(), make_optimizer("irprop-"), start, iterations)
    assert result.trajectory is not None
    return np.column_stack([result.trajectory.wx, result.trajectory.wrec])


@pytest.mark.parametrize("start", [(-1.5, 2.0), (2.5, -0.5)])
def test_irprop_minus_equals_torch_rprop_step_for_step(start: tuple[float, float]) -> None:
    torch = optional_reference("torch")
    path = _core_irprop_path(300, start)
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Rprop([p], lr=0.001, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0))
    ref = [list(start)]
    for _ in range(300):
        wx, wrec = p.detach().tolist()
        p.grad = torch.tensor(bptt_grad(wx, wrec), dtype=torch.float64)
        opt.step()
        ref.append(p.detach().tolist())
    np.testing.assert_allclose(path, np.array(ref), rtol=0, atol=1e-12)


@pytest.mark.parametrize("start", [(-1.5, 2.0), (2.5, -0.5)])
def test_irprop_minus_equals_a_plain_implementation(start: tuple[float, float]) -> None:
    path = _core_irprop_path(300, start)
    ref = np.asarray(plain_irprop_minus(bptt_grad, list(start), 300))
    np.testing.assert_allclose(path, ref, rtol=0, atol=1e-12)
    assert abs(path[-1, 0] - 1.0) < 1e-2
    assert abs(path[-1, 1] - 1.0) < 1e-2
