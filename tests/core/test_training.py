"""core.training: trajectories, stopping, callbacks, many starts, and fast path == BPTT."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from core import fastpath
from core.bptt import gradient
from core.datasets import Dataset, generate, tutorial_dataset
from core.errors import InvalidInputError
from core.model import losses_at
from core.optimizers import OPTIMIZER_NAMES, make_optimizer
from core.training import Progress, grid_starts, train, train_many
from core.window import Window
from tests.core._reference import forward_slack

# Per optimiser: hyperparameters that keep a run of a few hundred steps interesting.
SETTINGS: dict[str, dict[str, Any]] = {
    "rprop": {},
    "rprop-": {},
    "rprop+": {},
    "irprop-": {},
    "irprop+": {},
    "sgd": {"learning_rate": 5e-4, "momentum": 0.5, "clip_norm": 50.0},
}


def _opt(name: str) -> Any:
    return make_optimizer(name, **SETTINGS[name])


def _assert_losses_match_forward_pass(
    ds: Dataset, wx: np.ndarray, wrec: np.ndarray, loss: np.ndarray
) -> None:
    forward = losses_at(ds, wx, wrec)
    slack = forward_slack(ds.inputs, ds.targets, wx, wrec)
    np.testing.assert_array_equal(np.isfinite(loss), np.isfinite(forward))
    finite = np.isfinite(forward)
    assert (np.abs(loss - forward)[finite] <= 1e-10 * forward[finite] + 2 * slack[finite]).all()


# --- one start --------------------------------------------------------------------------


@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_trajectory_starts_at_the_start_and_records_every_iteration(name: str) -> None:
    ds = tutorial_dataset()
    result = train(ds, _opt(name), (-1.5, 2.0), 120)
    t = result.trajectory
    assert t is not None
    assert result.iterations == 120
    assert t.wx.shape == t.wrec.shape == t.loss.shape == (121,)
    assert (t.wx[0], t.wrec[0]) == (-1.5, 2.0)
    assert (t.wx[-1], t.wrec[-1]) == (result.wx, result.wrec)
    assert t.loss[-1] == pytest.approx(result.loss, rel=1e-12)
    _assert_losses_match_forward_pass(ds, t.wx, t.wrec, t.loss)
    assert t.loss[-1] < t.loss[0]


def test_zero_iterations_return_the_start() -> None:
    ds = tutorial_dataset()
    result = train(ds, make_optimizer("rprop"), (2.0, 1.0), 0)
    assert (result.wx, result.wrec, result.iterations) == (2.0, 1.0, 0)
    assert result.loss == pytest.approx(28.35, rel=1e-12)
    assert result.trajectory is not None
    assert result.trajectory.wx.tolist() == [2.0]


def test_trajectory_can_be_skipped() -> None:
    result = train(
        tutorial_dataset(), make_optimizer("rprop"), iterations=50, record_trajectory=False
    )
    assert result.trajectory is None
    recorded = train(tutorial_dataset(), make_optimizer("rprop"), iterations=50)
    assert (result.wx, result.wrec, result.loss) == (recorded.wx, recorded.wrec, recorded.loss)


def test_tolerance_stops_early_and_reports_convergence() -> None:
    ds = tutorial_dataset()
    result = train(ds, make_optimizer("rprop"), (-1.5, 2.0), 5000, tolerance=1e-9)
    assert result.converged
    assert not result.diverged
    assert result.iterations < 5000
    t = result.trajectory
    assert t is not None
    assert t.wx.shape == (result.iterations + 1,)
    assert result.loss == t.loss[-1] <= 1e-9
    assert (t.loss[:-1] > 1e-9).all()  # it did not stop any earlier


def test_a_loose_tolerance_is_about_the_loss_not_the_step() -> None:
    # The tutorial's RProp halves its step at once; that must not pass for convergence.
    result = train(tutorial_dataset(), make_optimizer("rprop"), (-1.5, 2.0), 500, tolerance=1e-3)
    assert result.converged
    assert result.loss <= 1e-3
    assert result.iterations > 100


def test_a_start_that_already_meets_the_tolerance_takes_no_step() -> None:
    result = train(tutorial_dataset(), make_optimizer("rprop"), (1.0, 1.0), 500, tolerance=0.0)
    assert result.converged
    assert result.iterations == 0
    assert (result.wx, result.wrec, result.loss) == (1.0, 1.0, 0.0)


def test_without_tolerance_runs_every_iteration() -> None:
    result = train(tutorial_dataset(), make_optimizer("rprop"), (-1.5, 2.0), 3000)
    assert result.iterations == 3000
    assert not result.converged


def test_an_exactly_zero_gradient_is_converged() -> None:
    result = train(tutorial_dataset(), make_optimizer("irprop-"), (1.0, 1.0), 100)
    assert result.converged
    assert result.iterations == 1
    assert (result.wx, result.wrec, result.loss) == (1.0, 1.0, 0.0)


@pytest.mark.parametrize("name", ["rprop-", "rprop+", "irprop-", "irprop+"])
def test_converged_means_the_optimum_was_reached(name: str) -> None:
    # iRprop-/iRprop+ deliberately make no move on a sign change; that is not convergence.
    result = train(tutorial_dataset(), make_optimizer(name), (-1.5, 2.0), 3000, tolerance=1e-5)
    assert result.converged
    assert result.loss <= 1e-5, (result.iterations, result.wx, result.wrec, result.loss)


def test_diverged_is_reported_when_the_last_step_leaves_float64() -> None:
    # lr * gradient overflows on the very last iteration: the weights are -inf.
    opt = make_optimizer("sgd", learning_rate=1e307)
    result = train(tutorial_dataset(), opt, (2.0, 1.0), iterations=1)
    assert not np.isfinite(result.wx)
    assert result.diverged


def test_divergence_stops_the_run() -> None:
    opt = make_optimizer("sgd", learning_rate=1e-6)
    result = train(tutorial_dataset(), opt, (-1.5, 2.0), 500)
    assert result.diverged
    assert result.iterations < 500
    assert np.isnan(result.loss)
    t = result.trajectory
    assert t is not None
    assert t.wx.shape == (result.iterations + 1,)
    assert not np.isfinite(t.loss[-1])


# --- callback ---------------------------------------------------------------------------


def test_callback_sees_every_iteration() -> None:
    ds = tutorial_dataset()
    seen: list[tuple[int, int, float, float, float]] = []

    def callback(p: Progress) -> None:
        seen.append((p.iteration, p.iterations, p.loss, p.wx, p.wrec))

    result = train(ds, make_optimizer("irprop-"), (-1.5, 2.0), 40, callback=callback)
    t = result.trajectory
    assert t is not None
    assert [s[0] for s in seen] == list(range(1, 41))
    assert {s[1] for s in seen} == {40}
    for it, _, loss, wx, wrec in seen:
        assert (wx, wrec) == (t.wx[it], t.wrec[it])
        assert loss == pytest.approx(t.loss[it], rel=1e-10)


def test_callback_progress_is_a_snapshot() -> None:
    kept: list[Progress] = []
    train(tutorial_dataset(), make_optimizer("rprop"), (-1.5, 2.0), 5, callback=kept.append)
    assert len({(p.wx, p.wrec) for p in kept}) == 5  # not all the final weights


def test_an_exception_in_the_callback_cancels_training() -> None:
    class CancelledError(Exception):
        pass

    calls: list[int] = []

    def callback(p: Progress) -> None:
        calls.append(p.iteration)
        if p.iteration == 3:
            raise CancelledError

    with pytest.raises(CancelledError):
        train(tutorial_dataset(), make_optimizer("rprop"), iterations=500, callback=callback)
    assert calls == [1, 2, 3]


# --- many starts ------------------------------------------------------------------------


@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_train_many_equals_separate_runs(name: str) -> None:
    ds = tutorial_dataset()
    starts = [(-1.5, 2.0), (2.0, -1.0), (0.3, 0.3), (1.2, 0.9)]
    many = train_many(ds, _opt(name), starts, 200)
    assert many.weights.shape == (4, 2)
    assert len(many.trajectories) == 4
    np.testing.assert_array_equal(many.initial, np.asarray(starts))
    for i, start in enumerate(starts):
        one = train(ds, _opt(name), start, 200)
        assert one.trajectory is not None
        np.testing.assert_allclose(many.weights[i], [one.wx, one.wrec], rtol=1e-12, atol=1e-12)
        # A single run stops at an exactly zero gradient (rprop reaches (1, 1) exactly from
        # (0.3, 0.3)); with other starts still running, that start stays where it is.
        n = one.iterations + 1
        t = many.trajectories[i]
        np.testing.assert_allclose(t.wx[:n], one.trajectory.wx, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(t.wrec[:n], one.trajectory.wrec, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(t.loss[:n], one.trajectory.loss, rtol=1e-10, atol=1e-12)
        assert (t.wx[n:] == one.wx).all()
        assert (t.wrec[n:] == one.wrec).all()
        assert many.loss[i] == pytest.approx(one.loss, rel=1e-10, abs=1e-12)


def test_train_many_on_a_grid_of_starts() -> None:
    ds = tutorial_dataset()
    gx, gr = np.meshgrid(np.linspace(-2, 2, 5), np.linspace(-1.5, 1.5, 5))
    starts = np.column_stack([gx.ravel(), gr.ravel()])
    many = train_many(ds, make_optimizer("irprop-"), starts, 300)
    assert many.iterations == 300
    assert many.converged.shape == many.diverged.shape == (25,)
    assert not many.diverged.any()
    final = many.weights
    _assert_losses_match_forward_pass(ds, final[:, 0], final[:, 1], many.loss)
    for i in (0, 7, 12, 24):
        one = train(ds, make_optimizer("irprop-"), tuple(starts[i]), 300, record_trajectory=False)
        np.testing.assert_allclose(final[i], [one.wx, one.wrec], rtol=1e-12, atol=1e-12)


def test_train_many_callback_sees_all_starts() -> None:
    seen: list[np.ndarray] = []

    def callback(p: Progress) -> None:
        seen.append(p.losses.copy())
        assert p.weights.shape == (3, 2)
        assert p.loss == p.losses[0]

    train_many(
        tutorial_dataset(), make_optimizer("rprop"), [(0, 0), (1, 2), (2, 1)], 7, callback=callback
    )
    assert len(seen) == 7
    assert all(s.shape == (3,) for s in seen)


def test_train_many_with_a_diverging_start() -> None:
    ds = tutorial_dataset()
    many = train_many(ds, make_optimizer("sgd", learning_rate=1e-6), [(-1.5, 2.0), (0.5, 0.5)], 300)
    assert many.diverged.tolist() == [True, False]
    assert np.isnan(many.loss[0])
    assert np.isfinite(many.loss[1])
    assert np.isfinite(many.weights[1]).all()


def test_train_many_stops_when_every_start_has_converged() -> None:
    ds = tutorial_dataset()
    many = train_many(ds, make_optimizer("rprop"), [(-1.5, 2.0), (2.0, 0.5)], 5000, tolerance=1e-9)
    assert many.converged.all()
    assert many.iterations < 5000
    assert all(t.wx.shape == (many.iterations + 1,) for t in many.trajectories)


@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_a_converged_start_stays_where_it_stopped(name: str) -> None:
    # One start converges long before the other; it must end where a run of its own ends.
    ds = tutorial_dataset()
    opt = (
        (lambda: make_optimizer("sgd", learning_rate=1e-3, clip_norm=1.0))
        if name == "sgd"
        else (lambda: make_optimizer(name))
    )
    starts = [(1.0, 1.0 + 1e-9), (-1.5, 2.0)]
    many = train_many(ds, opt(), starts, 400, tolerance=1e-5)
    one = train(ds, opt(), starts[0], 400, tolerance=1e-5)
    assert one.converged
    assert one.iterations < many.iterations
    np.testing.assert_array_equal(many.weights[0], [one.wx, one.wrec])
    assert bool(many.converged[0])


def test_grid_starts_are_the_windows_points() -> None:
    starts = grid_starts((-2.0, 2.0), (-1.0, 1.0), 3, 2)
    np.testing.assert_array_equal(starts, Window(-2.0, 2.0, -1.0, 1.0, 3, 2).points)
    assert starts[1].tolist() == [0.0, -1.0]  # wx varies fastest


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (((float("nan"), 1.0), (0.0, 1.0), 2, 2), "wx_min"),
        (((0.0, float("inf")), (0.0, 1.0), 2, 2), "wx_max"),
        (((0.0, 1.0), (-float("inf"), 1.0), 2, 2), "wrec_min"),
        (((2.0, 1.0), (0.0, 1.0), 2, 2), "wx_max"),
        (((0.0, 1.0), (1.0, 0.5), 2, 2), "wrec_max"),
        (((-1e308, 1e308), (0.0, 1.0), 2, 2), "wx_max"),  # the step would overflow
        (((0.0, 1.0), (0.0, 1.0), 0, 2), "nx"),
        (((0.0, 1.0), (0.0, 1.0), 2, -1), "ny"),
    ],
)
def test_grid_starts_rejects_bad_arguments_naming_the_field(args: Any, field: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        grid_starts(*args)
    assert info.value.field == field


def test_train_many_from_grid_starts_reports_them_as_initial() -> None:
    starts = grid_starts((-1.0, 1.0), (0.0, 0.5), 3, 2)
    many = train_many(tutorial_dataset(), make_optimizer("rprop"), starts, 20)
    np.testing.assert_array_equal(many.initial, starts)
    assert many.weights.shape == (6, 2)


# --- the fast path gives BPTT's steps ------------------------------------------------------


@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_fast_path_training_equals_bptt_training(name: str) -> None:
    ds = generate(300, min_length=5, max_length=14, seed=21)
    starts = [(-1.5, 2.0), (0.5, -0.8)]
    fast = [train(ds, _opt(name), s, 300) for s in starts]
    many = train_many(ds, _opt(name), starts, 300)
    rtol = 1e-9 if name == "sgd" else 1e-12  # sgd uses the values, not only their signs
    for i, s in enumerate(starts):
        with fastpath.disabled():
            slow = train(ds, _opt(name), s, 300)
        one, b = fast[i].trajectory, slow.trajectory
        assert one is not None
        assert b is not None
        for a in (one, many.trajectories[i]):
            np.testing.assert_allclose(a.wx, b.wx, rtol=rtol, atol=1e-12)
            np.testing.assert_allclose(a.wrec, b.wrec, rtol=rtol, atol=1e-12)
            np.testing.assert_allclose(a.loss, b.loss, rtol=1e-9, atol=1e-12)


def test_fast_path_equals_bptt_in_a_reference_loop() -> None:
    # Wider and longer: 5000 sequences of 40 steps, iRprop- written out with BPTT gradients.
    ds = generate(5000, 40, seed=3)
    opt = make_optimizer("irprop-")
    result = train(ds, opt, (-1.5, 2.0), 150, record_trajectory=False)
    w = np.array([[-1.5, 2.0]])
    state = None
    for _ in range(150):
        g = gradient(ds, float(w[0, 0]), float(w[0, 1]))
        state = opt.step(state, w, np.array([[g.wx, g.wrec]]))
    np.testing.assert_allclose([result.wx, result.wrec], w[0], rtol=0, atol=1e-12)


# --- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"iterations": -1}, "iterations"),
        ({"tolerance": -1e-6}, "tolerance"),
        ({"tolerance": float("nan")}, "tolerance"),
        ({"tolerance": float("inf")}, "tolerance"),
        ({"initial": (float("nan"), 1.0)}, "initial"),
        ({"initial": (1.0, float("inf"))}, "initial"),
    ],
)
def test_train_rejects_bad_arguments_naming_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        train(tutorial_dataset(), make_optimizer("rprop"), **kwargs)
    assert info.value.field == field


def test_train_many_needs_a_start() -> None:
    with pytest.raises(InvalidInputError) as info:
        train_many(tutorial_dataset(), make_optimizer("rprop"), np.zeros((0, 2)))
    assert info.value.field == "starts"


def test_past_the_fast_width_a_long_run_takes_the_statistics_and_bptts_steps() -> None:
    """Wider than MAX_FAST_WIDTH: a run of enough iterations repays the statistics, and its
    steps are BPTT's (the loss too, to RTOL or BPTT's own rounding)."""
    ds = generate(40, min_length=900, max_length=fastpath.MAX_FAST_WIDTH + 30, seed=5)
    assert ds.width > fastpath.MAX_FAST_WIDTH
    for name in ("irprop-", "rprop"):
        fast = train(ds, _opt(name), (0.5, 0.5), 40)
        with fastpath.disabled():
            slow = train(ds, _opt(name), (0.5, 0.5), 40)
        assert fast.trajectory is not None
        assert slow.trajectory is not None
        np.testing.assert_array_equal(fast.trajectory.wx, slow.trajectory.wx)
        np.testing.assert_array_equal(fast.trajectory.wrec, slow.trajectory.wrec)
        _assert_losses_match_forward_pass(
            ds, fast.trajectory.wx, fast.trajectory.wrec, fast.trajectory.loss
        )
    assert fastpath.cached(ds) is not None  # the run computed them


def test_a_short_run_on_wide_data_stays_on_bptt() -> None:
    ds = generate(10, fastpath.MAX_FAST_WIDTH + 30, seed=6)
    train(ds, make_optimizer("irprop-"), (0.5, 0.5), 3)
    assert fastpath.cached(ds) is None  # three BPTT passes cost less than the Gram pass
