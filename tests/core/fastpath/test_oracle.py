"""core.fastpath.oracle: losses and gradients at many weights, fast or reference, as BPTT."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from core.bptt import gradient
from core.datasets import from_sequences, generate, tutorial_dataset
from core.fastpath import (
    MAX_FAST_WIDTH,
    RTOL,
    SIGN_RTOL,
    Oracle,
    disabled,
    evaluate,
    gradient_at,
    statistics,
)
from core.fastpath.cache import MAX_TRAINING_WIDTH, fast_width
from core.model import losses_at

oracle_module = importlib.import_module("core.fastpath.oracle")

WEIGHTS = np.array([[-1.5, 2.0], [0.5, -0.8], [1.0, 1.0], [1.0 + 1e-9, 1.0], [0.0, 3.0]])


def _bptt(ds: object, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    gs = [gradient(ds, float(a), float(r)) for a, r in w]  # type: ignore[arg-type]
    return np.array([[g.wx, g.wrec] for g in gs]), np.array([g.loss for g in gs])


def test_gradients_and_losses_are_bptts_to_rtol() -> None:
    ds = generate(300, min_length=5, max_length=14, seed=21)
    oracle = Oracle(ds)
    assert oracle.stats is not None
    grad, loss = oracle.gradients(WEIGHTS, with_loss=True)
    ref_grad, ref_loss = _bptt(ds, WEIGHTS)
    assert loss is not None
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(oracle.losses(WEIGHTS), ref_loss, rtol=1e-9, atol=1e-12)


def test_one_point_takes_the_single_point_path_and_agrees() -> None:
    ds = tutorial_dataset()
    oracle = Oracle(ds)
    for w in WEIGHTS:
        one, no_loss = oracle.gradients(w[None, :])
        assert no_loss is None
        many, _ = oracle.gradients(np.vstack([w, w]))
        np.testing.assert_allclose(one[0], many[0], rtol=1e-14, atol=1e-300)


def test_disabled_gives_bptt_and_the_forward_pass_to_the_bit() -> None:
    ds = generate(100, 12, seed=2)
    with disabled():
        oracle = Oracle(ds)
        assert oracle.stats is None
        grad, loss = oracle.gradients(WEIGHTS, with_loss=True)
        losses = oracle.losses(WEIGHTS)
    ref_grad, ref_loss = _bptt(ds, WEIGHTS)
    np.testing.assert_array_equal(grad, ref_grad)
    np.testing.assert_array_equal(loss, ref_loss)
    np.testing.assert_array_equal(losses, losses_at(ds, WEIGHTS[:, 0], WEIGHTS[:, 1]))


def test_a_wide_dataset_is_answered_by_the_reference() -> None:
    ds = from_sequences([[1.0] * (MAX_FAST_WIDTH + 1), [0.0, 1.0]], targets=[3.0, 0.5])
    oracle = Oracle(ds)
    assert oracle.stats is None
    grad, _ = oracle.gradients(WEIGHTS[2:3])
    g = gradient(ds, 1.0, 1.0)
    assert tuple(grad[0]) == (g.wx, g.wrec)


@pytest.mark.parametrize("rtol", [RTOL, SIGN_RTOL])
def test_a_looser_tolerance_still_gives_the_right_signs(rtol: float) -> None:
    ds = tutorial_dataset()
    grad, _ = Oracle(ds, rtol).gradients(np.array([[-1.5, 2.0]]))
    g = gradient(ds, -1.5, 2.0)
    assert np.sign(grad[0]).tolist() == [np.sign(g.wx), np.sign(g.wrec)]
    if rtol == RTOL:
        np.testing.assert_allclose(grad[0], [g.wx, g.wrec], rtol=1e-9)


def test_the_fast_width_grows_with_the_evaluations_up_to_the_training_limit() -> None:
    assert fast_width() == MAX_FAST_WIDTH
    assert fast_width(10) == MAX_FAST_WIDTH
    assert fast_width(20) == 2000
    assert fast_width(10**6) == MAX_TRAINING_WIDTH


def test_enough_evaluations_take_the_statistics_of_a_wide_dataset_and_agree_with_bptt() -> None:
    ds = generate(30, min_length=1000, max_length=1100, seed=9)
    assert Oracle(ds, evaluations=1).stats is None
    oracle = Oracle(ds, evaluations=100)
    assert oracle.stats is not None
    w = np.array([[0.5, 0.5], [1.0, 0.999], [1.2, 1.0001], [-0.4, -0.9]])
    grad, loss = oracle.gradients(w, with_loss=True)
    ref_grad, ref_loss = _bptt(ds, w)
    assert loss is not None
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-9, atol=1e-12)
    for row, ref in zip(w, ref_grad, strict=True):
        one, _ = oracle.gradients(row[None, :])
        np.testing.assert_allclose(one[0], ref, rtol=1e-9, atol=1e-12)


def test_many_points_are_sure_to_the_callers_tolerance_as_one_point_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where dξ/dwx crosses zero a gradient is unsure to RTOL yet sure of its sign: with many
    starts a sign-based caller gets the one-point answer there, not a BPTT pass per start."""
    ds = generate(200, 150, seed=4)
    stats = statistics(ds)
    assert stats is not None
    rng = np.random.default_rng(0)
    grid = np.column_stack([rng.uniform(0.3, 1.7, 2000), rng.uniform(0.9, 1.02, 2000)])
    ev = evaluate(stats, grid[:, 0], grid[:, 1])
    w = np.array(
        [
            p
            for p, sure in zip(grid, ev.sure, strict=True)
            if not sure and gradient_at(stats, *p, SIGN_RTOL)
        ]
    )
    assert len(w) >= 2  # the case this test is about
    singles = [Oracle(ds, SIGN_RTOL).gradients(row[None, :])[0][0] for row in w]
    calls = 0
    real_gradient = oracle_module.gradient

    def counting(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        return real_gradient(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(oracle_module, "gradient", counting)
    many, _ = Oracle(ds, SIGN_RTOL).gradients(w)
    np.testing.assert_array_equal(many, np.array(singles))
    assert calls == 0
    monkeypatch.undo()
    ref, _ = _bptt(ds, w)
    np.testing.assert_array_equal(np.sign(many), np.sign(ref))


def test_unsure_losses_of_a_long_path_agree_with_the_forward_pass() -> None:
    """A trajectory's losses in the valley at long T: the statistics cannot vouch for them
    (the residuals cancel), so they come from the cheaper of exact arithmetic and the rows."""
    ds = generate(300, 700, seed=8)
    w = np.array([[1.0 + d, 1.0 - d / 50] for d in (1e-6, -3e-7, 2e-5, 0.0)])
    got = Oracle(ds, evaluations=100).losses(w)
    forward = losses_at(ds, w[:, 0], w[:, 1])
    np.testing.assert_allclose(got, forward, rtol=1e-9, atol=1e-12)
