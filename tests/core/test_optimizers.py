"""core.optimizers: the tutorial's RProp run, the RProp family step by step, SGD, validation."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

from core.bptt import gradient
from core.datasets import tutorial_dataset
from core.errors import InvalidInputError
from core.optimizers import (
    OPTIMIZER_NAMES,
    OptimizerState,
    irprop_minus_step,
    irprop_plus_step,
    make_optimizer,
    rprop_minus_step,
    rprop_plus_step,
    rprop_step,
    sgd_step,
)
from core.training import train
from tests.core._reference import plain_irprop_minus, tutorial_rprop


def bptt_grad(wx: float, wrec: float) -> tuple[float, float]:
    g = gradient(tutorial_dataset(), wx, wrec)
    return g.wx, g.wrec


# --- the tutorial's run ---------------------------------------------------------------


def test_tutorial_rprop_run_reaches_the_published_weights() -> None:
    result = train(tutorial_dataset(), make_optimizer("rprop"), (-1.5, 2.0), 500)
    assert result.iterations == 500
    assert result.wx == pytest.approx(1.00135554, abs=1e-8)
    assert result.wrec == pytest.approx(0.99967447, abs=1e-8)
    assert f"{result.wx:.4f} {result.wrec:.4f}" == "1.0014 0.9997"


def test_tutorial_rprop_run_is_the_tutorials_loop_step_for_step() -> None:
    result = train(tutorial_dataset(), make_optimizer("rprop"), (-1.5, 2.0), 500)
    assert result.trajectory is not None
    path = np.asarray(tutorial_rprop(bptt_grad, [-1.5, 2.0], 500))
    np.testing.assert_allclose(result.trajectory.wx, path[:, 0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(result.trajectory.wrec, path[:, 1], rtol=0, atol=1e-12)


# --- step functions on hand-computed sequences -----------------------------------------

# One start, two weights fed the fake gradients below (column 0: a run, a flip, a zero;
# column 1: alternating signs). eta+ = 2 and the bounds [0.03, 0.3] make every rule show.
GRADS = np.array([[1, 1], [1, -1], [1, 1], [-1, -1], [-1, 1], [0, -1], [1, 1]], dtype=np.float64)
LOSSES = [5.0, 4.0, 3.0, 3.5, 3.2, 3.0, 2.9]
BOUNDED = {"eta_plus": 2.0, "eta_minus": 0.5, "delta_min": 0.03, "delta_max": 0.3}


def _run_steps(step: Any, with_loss: bool = False) -> tuple[np.ndarray, np.ndarray]:
    state = OptimizerState(
        step_size=np.full((1, 2), 0.1),
        prev=np.zeros((1, 2)),
        prev_update=np.zeros((1, 2)),
        prev_loss=np.full(1, np.inf),
        momentum=np.zeros((1, 2)),
    )
    weights = np.zeros((1, 2))
    ws, deltas = [], []
    for g, loss in zip(GRADS, LOSSES, strict=True):
        if with_loss:
            step(state, weights, g[None, :].copy(), np.array([loss]), **BOUNDED)
        else:
            step(state, weights, g[None, :].copy(), **BOUNDED)
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


def test_tutorial_rprop_step_first_shrinks_then_grows_without_bounds() -> None:
    state = OptimizerState(step_size=np.full((1, 2), 0.001), prev=np.zeros((1, 2)))
    w = np.array([[0.0, 0.0]])
    rprop_step(state, w, np.array([[3.0, -2.0]]), eta_plus=1.2, eta_minus=0.5)
    np.testing.assert_allclose(state.step_size, [[0.0005, 0.0005]])  # previous sign 0
    np.testing.assert_allclose(w, [[-0.0005, 0.0005]])
    np.testing.assert_array_equal(state.prev, [[1.0, -1.0]])
    for _ in range(60):
        rprop_step(state, w, np.array([[3.0, 5.0]]), eta_plus=1.2, eta_minus=0.5)
    assert state.step_size[0, 0] == pytest.approx(0.0005 * 1.2**60, rel=1e-12)  # no delta_max
    assert state.step_size[0, 1] == pytest.approx(0.0005 * 0.5 * 1.2**59, rel=1e-12)


def test_tutorial_rprop_step_on_a_zero_gradient_keeps_still() -> None:
    # sign(0) == previous sign 0 counts as "same sign" in the tutorial's comparison.
    state = OptimizerState(step_size=np.full((1, 2), 0.001), prev=np.zeros((1, 2)))
    w = np.array([[1.0, 1.0]])
    rprop_step(state, w, np.zeros((1, 2)), eta_plus=1.2, eta_minus=0.5)
    np.testing.assert_array_equal(w, [[1.0, 1.0]])
    np.testing.assert_allclose(state.step_size, [[0.0012, 0.0012]])


def test_steps_are_independent_per_start() -> None:
    opt = make_optimizer("irprop-")
    w = np.array([[0.0, 0.0], [5.0, 5.0], [1.0, -1.0]])
    state = opt.init(w)
    grads = [
        np.array([[1.0, -1.0], [2.0, 2.0], [-3.0, 0.0]]),
        np.array([[-1.0, -1.0], [2.0, -2.0], [-3.0, 1.0]]),
    ]
    for g in grads:
        opt.step(state, w, g)
    for i, start in enumerate([[0.0, 0.0], [5.0, 5.0], [1.0, -1.0]]):
        single = np.array([start])
        s1 = opt.init(single)
        for g in grads:
            opt.step(s1, single, g[i : i + 1].copy())
        np.testing.assert_array_equal(single[0], w[i])
        np.testing.assert_array_equal(s1.step_size[0], state.step_size[i])


# --- iRprop- is torch.optim.Rprop -----------------------------------------------------------


def _core_irprop_path(iterations: int, start: tuple[float, float]) -> np.ndarray:
    result = train(tutorial_dataset(), make_optimizer("irprop-"), start, iterations)
    assert result.trajectory is not None
    return np.column_stack([result.trajectory.wx, result.trajectory.wrec])


@pytest.mark.parametrize("start", [(-1.5, 2.0), (2.5, -0.5)])
def test_irprop_minus_equals_torch_rprop_step_for_step(start: tuple[float, float]) -> None:
    torch = pytest.importorskip("torch", reason="torch is an optional reference")
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


# --- SGD ------------------------------------------------------------------------------------


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
def test_sgd_variants_equal_a_hand_rolled_loop(
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
    state = OptimizerState(
        step_size=np.zeros((2, 2)), prev=np.zeros((2, 2)), momentum=np.zeros((2, 2))
    )
    w = np.array([[1.0, 1.0], [0.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sgd_step(
            state,
            w,
            np.array([[0.0, 0.0], [3.0, 4.0]]),
            learning_rate=0.1,
            momentum=0.0,
            nesterov=False,
            clip_norm=1.0,
        )
    np.testing.assert_allclose(w, [[1.0, 1.0], [-0.06, -0.08]])


def test_sgd_step_by_hand() -> None:
    state = OptimizerState(
        step_size=np.zeros((2, 2)), prev=np.zeros((2, 2)), momentum=np.zeros((2, 2))
    )
    w = np.zeros((2, 2))
    g = np.array([[3.0, 4.0], [0.3, 0.4]])
    sgd_step(state, w, g, learning_rate=0.1, momentum=0.5, nesterov=True, clip_norm=1.0)
    # Row 0 is clipped to norm 1 (0.6, 0.8), row 1 is short enough to keep.
    np.testing.assert_allclose(state.momentum, [[0.6, 0.8], [0.3, 0.4]])
    np.testing.assert_allclose(w, [[-0.09, -0.12], [-0.045, -0.06]])  # d = g + 0.5 b
    sgd_step(state, w, g, learning_rate=0.1, momentum=0.5, nesterov=False, clip_norm=None)
    np.testing.assert_allclose(state.momentum, [[3.3, 4.4], [0.45, 0.6]])
    np.testing.assert_allclose(w, [[-0.42, -0.56], [-0.09, -0.12]])


# --- construction and validation ------------------------------------------------------------


def test_names_and_defaults() -> None:
    assert OPTIMIZER_NAMES == ("rprop", "rprop-", "rprop+", "irprop-", "irprop+", "sgd")
    assert dict(make_optimizer("rprop").hyperparameters) == {
        "eta_plus": 1.2,
        "eta_minus": 0.5,
        "delta0": 0.001,
    }
    for name in ("rprop-", "rprop+", "irprop-", "irprop+"):
        assert dict(make_optimizer(name).hyperparameters) == {
            "eta_plus": 1.2,
            "eta_minus": 0.5,
            "delta0": 0.001,
            "delta_min": 1e-6,
            "delta_max": 50.0,
        }
    assert dict(make_optimizer("sgd").hyperparameters) == {
        "learning_rate": 0.001,
        "momentum": 0.0,
        "nesterov": False,
        "clip_norm": None,
    }
    assert make_optimizer("irprop+").needs_loss
    assert not make_optimizer("irprop-").needs_loss


def test_given_hyperparameters_override_and_none_means_default() -> None:
    opt = make_optimizer("irprop-", delta0=0.01, eta_plus=1.5, delta_max=None)
    assert opt.hyperparameters["delta0"] == 0.01
    assert opt.hyperparameters["eta_plus"] == 1.5
    assert opt.hyperparameters["delta_max"] == 50.0
    state = opt.init(np.zeros((3, 2)))
    np.testing.assert_array_equal(state.step_size, np.full((3, 2), 0.01))
    assert make_optimizer("sgd", momentum=None).hyperparameters["momentum"] == 0.0


BAD: list[tuple[str, dict[str, Any], str]] = [
    ("adam", {}, "optimizer.name"),
    ("RPROP", {}, "optimizer.name"),
    ("rprop", {"eta_plus": 1.0}, "optimizer.eta_plus"),
    ("rprop-", {"eta_plus": float("inf")}, "optimizer.eta_plus"),
    ("rprop", {"eta_minus": 1.0}, "optimizer.eta_minus"),
    ("irprop+", {"eta_minus": 0.0}, "optimizer.eta_minus"),
    ("rprop", {"delta0": 0.0}, "optimizer.delta0"),
    ("irprop-", {"delta0": float("nan")}, "optimizer.delta0"),
    ("irprop-", {"delta_min": 0.0}, "optimizer.delta_min"),
    ("rprop+", {"delta_min": 1.0, "delta_max": 0.5}, "optimizer.delta_max"),
    ("rprop", {"delta_min": 1e-6}, "optimizer.delta_min"),  # not a hyperparameter of rprop
    ("rprop", {"learning_rate": 0.1}, "optimizer.learning_rate"),
    ("sgd", {"eta_plus": 1.2}, "optimizer.eta_plus"),
    ("sgd", {"lr": 0.1}, "optimizer.lr"),
    ("sgd", {"learning_rate": 0.0}, "optimizer.learning_rate"),
    ("sgd", {"learning_rate": -1e-3}, "optimizer.learning_rate"),
    ("sgd", {"learning_rate": "0.1"}, "optimizer.learning_rate"),
    ("sgd", {"momentum": 1.0}, "optimizer.momentum"),
    ("sgd", {"momentum": -0.1}, "optimizer.momentum"),
    ("sgd", {"nesterov": True}, "optimizer.nesterov"),  # needs momentum
    ("sgd", {"nesterov": "yes", "momentum": 0.9}, "optimizer.nesterov"),
    ("sgd", {"clip_norm": 0.0}, "optimizer.clip_norm"),
    ("sgd", {"clip_norm": float("inf")}, "optimizer.clip_norm"),
]


@pytest.mark.parametrize(("name", "params", "field"), BAD)
def test_make_optimizer_errors_name_the_field(
    name: str, params: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInputError) as info:
        make_optimizer(name, **params)
    assert info.value.field == field
