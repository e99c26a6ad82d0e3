"""core.statistics: the polynomial fast path must be exact to RTOL wherever it says it is sure."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.bptt import gradient
from core.datasets import from_sequences, generate, tutorial_dataset
from core.model import losses_at
from core.statistics import MAX_FAST_WIDTH, RTOL, Statistics, statistics
from tests.core._reference import (
    TUTORIAL_VALUES,
    UNDERFLOW,
    datasets,
    default_targets,
    exact,
    rel_close,
    rounding_slack,
    tutorial_rows,
)

Data = tuple[list[list[float]], list[float] | None]

# Exact zeros: the fast path may return a few ulps of garbage only if it says it is unsure.
TINY = 1e-300

weights = st.one_of(
    st.floats(-3.0, 3.0),
    st.floats(0.999, 1.001),  # the valley the optimisers converge to
    st.sampled_from([0.0, 1.0, -1.0, 2.0, 0.5]),
)
points = st.lists(st.tuples(weights, weights), min_size=1, max_size=4)


@pytest.mark.parametrize(("point", "expected"), TUTORIAL_VALUES.items())
def test_fast_path_reproduces_the_reference_table(
    point: tuple[float, float], expected: tuple[float, float, float]
) -> None:
    ev = Statistics(tutorial_dataset()).evaluate(*point)
    assert bool(ev.sure)
    assert float(ev.loss) == pytest.approx(expected[0], rel=1e-12)
    assert float(ev.grad_wx) == pytest.approx(expected[1], rel=1e-12)
    assert float(ev.grad_wrec) == pytest.approx(expected[2], rel=1e-12)


def test_fast_path_is_exactly_zero_at_the_optimum() -> None:
    stats = Statistics(tutorial_dataset())
    ev = stats.evaluate(1.0, 1.0)
    assert bool(ev.sure)
    assert (float(ev.loss), float(ev.grad_wx), float(ev.grad_wrec)) == (0.0, 0.0, 0.0)
    assert float(ev.mean_residual) == 0.0
    assert stats.gradient_at(1.0, 1.0) == (0.0, 0.0)


def test_evaluate_broadcasts_its_points() -> None:
    stats = Statistics(tutorial_dataset())
    wx = np.array([[0.5], [1.0], [2.0]])
    wrec = np.array([-2.0, 0.0, 0.5, 1.5])
    ev = stats.evaluate(wx, wrec)
    for array in (ev.loss, ev.grad_wx, ev.grad_wrec, ev.mean_residual, ev.sure, ev.log2_loss):
        assert np.shape(array) == (3, 4)
    ds = tutorial_dataset()
    for i in range(3):
        for j in range(4):
            g = gradient(ds, float(wx[i, 0]), float(wrec[j]))
            assert ev.loss[i, j] == pytest.approx(g.loss, rel=1e-12)
            assert ev.grad_wx[i, j] == pytest.approx(g.wx, rel=1e-12, abs=1e-12)
            assert ev.grad_wrec[i, j] == pytest.approx(g.wrec, rel=1e-12, abs=1e-12)


def _check_sure_against_exact(
    stats: Statistics, rows: list[list[float]], tg: list[float], wx: float, wrec: float
) -> None:
    ev = stats.evaluate(wx, wrec)
    fast = stats.gradient_at(wx, wrec)
    if not bool(ev.sure) and fast is None:
        return
    ref = exact(rows, tg, wx, wrec)
    if bool(ev.sure):
        assert rel_close(float(ev.loss), ref.loss, RTOL, TINY), ("loss", wx, wrec)
        assert rel_close(float(ev.grad_wx), ref.grad_wx, RTOL, TINY), ("grad_wx", wx, wrec)
        assert rel_close(float(ev.grad_wrec), ref.grad_wrec, RTOL, TINY), ("grad_wrec", wx, wrec)
    if fast is not None:
        assert rel_close(fast[0], ref.grad_wx, RTOL, TINY), ("gradient_at wx", wx, wrec)
        assert rel_close(fast[1], ref.grad_wrec, RTOL, TINY), ("gradient_at wrec", wx, wrec)


@settings(max_examples=80, deadline=None)
@given(datasets(max_n=6, max_width=10, exact_sums=True), points)
def test_sure_values_are_exact_to_rtol(data: Data, pts: list[tuple[float, float]]) -> None:
    # Bits, or reals whose sums are exact, with default or explicit (even real) targets.
    rows, targets = data
    tg = default_targets(rows, targets)
    stats = Statistics(from_sequences(rows, tg))
    for wx, wrec in pts:
        _check_sure_against_exact(stats, rows, tg, wx, wrec)


@pytest.mark.parametrize(
    "point",
    [
        (2.0, 1.0),
        (1.0, 2.0),
        (1.0, -2.0),
        (1.0, 0.0),
        (1.0, 0.5),
        (1.0, -0.5),
        (-1.5, 2.0),
        (1.0 + 1e-9, 1.0 - 3e-10),
        (0.999, 1.0004),
        (0.3, 2.9),
        (0.0, 1.7),
        (-2.5, -2.5),
    ],
)
def test_sure_values_are_exact_on_the_tutorial_dataset(point: tuple[float, float]) -> None:
    rows = tutorial_rows()
    _check_sure_against_exact(Statistics(tutorial_dataset()), rows, [sum(r) for r in rows], *point)


@settings(max_examples=60, deadline=None)
@given(datasets(max_n=6, max_width=10), points)
def test_sure_values_agree_with_bptt_within_its_rounding(
    data: Data, pts: list[tuple[float, float]]
) -> None:
    rows, targets = data
    tg = default_targets(rows, targets)
    ds = from_sequences(rows, tg)
    stats = Statistics(ds)
    slack = rounding_slack(ds.n_samples, ds.width)
    for wx, wrec in pts:
        ev = stats.evaluate(wx, wrec)
        if not bool(ev.sure):
            continue
        g = gradient(ds, wx, wrec)
        ref = exact(rows, tg, wx, wrec)
        for fast, bptt, scale in (
            (ev.loss, g.loss, ref.loss_scale),
            (ev.grad_wx, g.wx, ref.wx_scale),
            (ev.grad_wrec, g.wrec, ref.wrec_scale),
        ):
            assert abs(float(fast) - bptt) <= RTOL * abs(bptt) + 2 * slack * scale + TINY


@settings(max_examples=60, deadline=None)
@given(datasets(max_n=6, max_width=10, exact_sums=True), points)
def test_sign_only_gradients_have_the_exact_sign(
    data: Data, pts: list[tuple[float, float]]
) -> None:
    # The training loop asks sign-based optimisers' gradients with rtol = 0.25.
    rows, targets = data
    tg = default_targets(rows, targets)
    stats = Statistics(from_sequences(rows, tg))
    for wx, wrec in pts:
        fast = stats.gradient_at(wx, wrec, 0.25)
        if fast is None:
            continue
        ref = exact(rows, tg, wx, wrec)
        assert rel_close(fast[0], ref.grad_wx, 0.25, TINY)
        assert rel_close(fast[1], ref.grad_wrec, 0.25, TINY)
        assert np.sign(fast[0]) == np.sign(float(ref.grad_wx))
        assert np.sign(fast[1]) == np.sign(float(ref.grad_wrec))


def test_real_valued_inputs_near_the_optimum_are_exact_to_rtol_when_sure() -> None:
    # Inputs whose sums round: 0.1 + 0.2 + 0.3 is 0.6000000000000001 forwards, 0.6 backwards.
    # Near (1, 1) the residuals are ~1e-9 and the data's own rounding (~1e-17) is no longer
    # below RTOL of them; the fast path must then say it is unsure.
    rows = [[0.1, 0.2, 0.3]]
    ds = from_sequences(rows)
    stats = Statistics(ds)
    tg = ds.targets.tolist()
    for wx, wrec in [(1.0 + 1e-9, 1.0), (1.0, 1.0 + 2.0**-30), (1.0 + 2.0**-28, 1.0 - 2.0**-29)]:
        _check_sure_against_exact(stats, rows, tg, wx, wrec)


def test_overflow_is_unsure_and_its_size_still_known() -> None:
    ds = tutorial_dataset()
    stats = Statistics(ds)
    for wrec in (1e40, -1e40, 1e300):
        ev = stats.evaluate(1.0, wrec)
        assert not bool(ev.sure)
        assert stats.gradient_at(1.0, wrec) is None
        # log2 of the true loss, known without overflowing: y ~ wrec^9 makes loss ~ wrec^18.
        ref = exact(tutorial_rows(), ds.targets.tolist(), 1.0, wrec).loss
        log2_ref = math.log2(ref.numerator) - math.log2(ref.denominator)
        assert float(ev.log2_loss) == pytest.approx(log2_ref, rel=1e-12)
    assert stats.gradient_at(float("nan"), 1.0) is None
    assert stats.gradient_at(1.0, float("inf")) is None


def test_sure_never_hides_a_bptt_overflow() -> None:
    # Points between finite and overflowing: the fast path answers only where BPTT is finite.
    ds = generate(200, 60, seed=3)
    stats = Statistics(ds)
    wrec = np.geomspace(1.5, 1e6, 300)
    ev = stats.evaluate(1.0, wrec)
    assert ev.sure.any()
    assert not ev.sure.all()
    for r in wrec[ev.sure][-5:]:
        g = gradient(ds, 1.0, float(r))
        assert math.isfinite(g.loss)
        assert math.isfinite(g.wx)
        assert math.isfinite(g.wrec)


def test_statistics_are_cached_per_dataset_and_skipped_when_too_wide() -> None:
    ds = tutorial_dataset()
    stats = statistics(ds)
    assert stats is not None
    assert statistics(ds) is stats
    assert statistics(tutorial_dataset()) is not stats  # another object, other statistics
    edge = from_sequences([[1.0] * MAX_FAST_WIDTH, [0.0, 1.0]])
    assert statistics(edge) is not None
    wide = from_sequences([[1.0] * (MAX_FAST_WIDTH + 1), [0.0, 1.0]])
    assert statistics(wide) is None


def _exact_from_moments(
    inputs: np.ndarray, targets: np.ndarray, wx: float, wrec: float
) -> tuple[Fraction, Fraction, Fraction]:
    """Exact loss and gradient of integer data from its integer moments (X^T X, X^T t, t.t)."""
    X = inputs.astype(np.int64)
    t = targets.astype(np.int64)
    assert (t == targets).all()
    n, T = X.shape
    gram, xt, tt = X.T @ X, X.T @ t, int(t @ t)
    a, r = Fraction(wx), Fraction(wrec)
    b = [r ** (T - 1 - k) for k in range(T)]  # dy/dwx per input column
    c = [a * bk for bk in b]  # y = sum_k x_k c_k
    d = [a * (T - 1 - k) * r ** (T - 2 - k) if k < T - 1 else Fraction(0) for k in range(T)]

    def form(u: list[Fraction], v: list[Fraction]) -> Fraction:
        return sum((u[j] * v[k] * int(gram[j, k]) for j in range(T) for k in range(T)), Fraction(0))

    def dot_t(u: list[Fraction]) -> Fraction:
        return sum((u[k] * int(xt[k]) for k in range(T)), Fraction(0))

    loss = (form(c, c) - 2 * dot_t(c) + tt) / n
    return loss, 2 * (form(b, c) - dot_t(b)) / n, 2 * (form(d, c) - dot_t(d)) / n


@pytest.mark.parametrize(
    "kind", ["counts", "shifted counts", "large integers", "negative integers"]
)
def test_statistics_of_big_binary_data_are_exact(kind: str) -> None:
    # More rows than one block; integer targets small (float32 moments) or large (float64).
    base = generate(40_000, 6, seed=12)
    counts = base.targets
    targets = {
        "counts": counts,
        "shifted counts": counts + 1,
        "large integers": counts * 1000 + 7,
        "negative integers": counts - 2 * (np.arange(counts.size) % 5),
    }[kind]
    ds = from_sequences(base.sequences(), targets.tolist())
    stats = Statistics(ds)
    answered = 0
    for wx, wrec in [(1.1, 0.9), (0.5, 1.3), (1.0, 1.0), (-2.0, 0.7), (1.0 + 1e-7, 1.0)]:
        ev = stats.evaluate(wx, wrec)
        if not bool(ev.sure):
            continue
        answered += 1
        loss, gx, gr = _exact_from_moments(ds.inputs, ds.targets, wx, wrec)
        assert rel_close(float(ev.loss), loss, RTOL, UNDERFLOW)
        assert rel_close(float(ev.grad_wx), gx, RTOL, UNDERFLOW)
        assert rel_close(float(ev.grad_wrec), gr, RTOL, UNDERFLOW)
    assert answered >= 3


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 1), min_size=1, max_size=12), min_size=1, max_size=6),
    st.lists(st.tuples(st.floats(-4, 4), st.floats(-3, 3)), min_size=1, max_size=4),
)
def test_exact_losses_are_the_correctly_rounded_loss(
    rows: list[list[int]], points: list[tuple[float, float]]
) -> None:
    ds = from_sequences(rows)
    wx, wrec = (np.array(axis, dtype=np.float64) for axis in zip(*points, strict=True))
    values = statistics(ds).exact_losses(wx, wrec)
    assert values is not None
    for value, (a, r) in zip(values.tolist(), points, strict=True):
        reference = exact(rows, default_targets(rows, None), a, r).loss
        assert value == float(reference)  # not close: equal, to the last bit


def test_exact_losses_need_integer_data() -> None:
    real = from_sequences([[0.5, 1.0], [1.0]])
    assert statistics(real).exact_losses(np.array([1.0]), np.array([1.0])) is None
    assert (
        statistics(from_sequences([[1, 0]], [0.5])).exact_losses(np.array([1.0]), np.array([1.0]))
        is None
    )


def test_settle_answers_the_valley_of_long_sequences_exactly() -> None:
    # Where neither float form can vouch for the loss (the valley of 100-step sequences),
    # settle() is exact and agrees with the forward pass within its rounding.
    ds = generate(2_000, 100, seed=1)
    stats = statistics(ds)
    axis = np.linspace(0.9, 1.1, 257)
    _, unsure = stats.loss_grid(axis, axis)
    assert unsure is not None
    rows, cols = np.nonzero(unsure)
    settled = stats.settle(ds, axis[cols], axis[rows])
    exact_values = stats.exact_losses(axis[cols], axis[rows])
    assert exact_values is not None
    np.testing.assert_array_equal(settled, exact_values)
    forward = losses_at(ds, axis[cols], axis[rows])
    np.testing.assert_allclose(settled, forward, rtol=1e-9)
