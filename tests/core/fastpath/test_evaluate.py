"""core.fastpath.evaluate: every value the fast path vouches for is exact to RTOL.

Where it does not vouch, the oracle must hand the point to the reference path; each
check below follows a point through to whichever path answered it.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.bptt import gradient
from core.datasets import Dataset, from_sequences, generate, tutorial_dataset
from core.fastpath import RTOL, SIGN_RTOL, Oracle, Statistics, evaluate, gradient_at
from core.surface import TUTORIAL_POINTS
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
def test_the_tutorials_values(
    point: tuple[float, float], expected: tuple[float, float, float]
) -> None:
    ev = evaluate(Statistics(tutorial_dataset()), *point)
    assert bool(ev.sure)
    assert float(ev.loss) == pytest.approx(expected[0], rel=1e-12)
    assert float(ev.grad_wx) == pytest.approx(expected[1], rel=1e-12)
    assert float(ev.grad_wrec) == pytest.approx(expected[2], rel=1e-12)


def test_exactly_zero_at_the_optimum() -> None:
    stats = Statistics(tutorial_dataset())
    ev = evaluate(stats, 1.0, 1.0)
    assert bool(ev.sure)
    assert (float(ev.loss), float(ev.grad_wx), float(ev.grad_wrec)) == (0.0, 0.0, 0.0)
    assert float(ev.mean_residual) == 0.0
    assert gradient_at(stats, 1.0, 1.0) == (0.0, 0.0)


def test_points_broadcast() -> None:
    ds = tutorial_dataset()
    wx = np.array([[0.5], [1.0], [2.0]])
    wrec = np.array([-2.0, 0.0, 0.5, 1.5])
    ev = evaluate(Statistics(ds), wx, wrec)
    for array in (ev.loss, ev.grad_wx, ev.grad_wrec, ev.mean_residual, ev.sure, ev.log2_loss):
        assert np.shape(array) == (3, 4)
    for i in range(3):
        for j in range(4):
            g = gradient(ds, float(wx[i, 0]), float(wrec[j]))
            assert ev.loss[i, j] == pytest.approx(g.loss, rel=1e-12)
            assert ev.grad_wx[i, j] == pytest.approx(g.wx, rel=1e-12, abs=1e-12)
            assert ev.grad_wrec[i, j] == pytest.approx(g.wrec, rel=1e-12, abs=1e-12)


def test_one_point_and_arrays_give_the_same_gradient() -> None:
    # gradient_at and evaluate share their formulas; only the scale is computed apart.
    stats = Statistics(generate(50, min_length=3, max_length=12, seed=4))
    for wx, wrec in [(0.3, 0.2), (1.2, -0.7), (-1.5, 2.0), (1.0 + 1e-9, 1.0), (0.0, 3.0)]:
        ev = evaluate(stats, wx, wrec)
        fast = gradient_at(stats, wx, wrec)
        assert bool(ev.sure)
        assert fast is not None
        assert fast[0] == pytest.approx(float(ev.grad_wx), rel=1e-14, abs=1e-300)
        assert fast[1] == pytest.approx(float(ev.grad_wrec), rel=1e-14, abs=1e-300)


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def _check_against_exact(
    ds: Dataset, rows: list[list[float]], tg: list[float], wx: float, wrec: float
) -> None:
    """Sure fast values are exact to RTOL; an unsure point goes to BPTT, unchanged."""
    oracle = Oracle(ds)
    assert oracle.stats is not None
    ev = evaluate(oracle.stats, wx, wrec)
    fast = gradient_at(oracle.stats, wx, wrec)
    ref = exact(rows, tg, wx, wrec)
    if bool(ev.sure):
        assert rel_close(float(ev.loss), ref.loss, RTOL, TINY), ("loss", wx, wrec)
        assert rel_close(float(ev.grad_wx), ref.grad_wx, RTOL, TINY), ("grad_wx", wx, wrec)
        assert rel_close(float(ev.grad_wrec), ref.grad_wrec, RTOL, TINY), ("grad_wrec", wx, wrec)
    if fast is not None:
        assert rel_close(fast[0], ref.grad_wx, RTOL, TINY), ("gradient_at wx", wx, wrec)
        assert rel_close(fast[1], ref.grad_wrec, RTOL, TINY), ("gradient_at wrec", wx, wrec)
    answer, _ = oracle.gradients(np.array([[wx, wrec]]))
    if fast is not None:
        assert tuple(answer[0]) == fast
    elif bool(ev.sure):
        assert tuple(answer[0]) == (float(ev.grad_wx), float(ev.grad_wrec))
    else:  # neither form vouched: the reference path answered
        g = gradient(ds, wx, wrec)
        assert _same(answer[0, 0], g.wx), (wx, wrec)
        assert _same(answer[0, 1], g.wrec), (wx, wrec)


@settings(max_examples=80, deadline=None)
@given(datasets(max_n=6, max_width=10, exact_sums=True), points)
def test_sure_values_are_exact_to_rtol(data: Data, pts: list[tuple[float, float]]) -> None:
    # Bits, or reals whose sums are exact, with default or explicit (even real) targets.
    rows, targets = data
    tg = default_targets(rows, targets)
    ds = from_sequences(rows, tg)
    for wx, wrec in pts:
        _check_against_exact(ds, rows, tg, wx, wrec)


@pytest.mark.parametrize(
    "point",
    [
        *TUTORIAL_POINTS,
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
    _check_against_exact(tutorial_dataset(), rows, [sum(r) for r in rows], *point)


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
        ev = evaluate(stats, wx, wrec)
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
    # The training loop asks sign-based optimisers' gradients with SIGN_RTOL.
    rows, targets = data
    tg = default_targets(rows, targets)
    stats = Statistics(from_sequences(rows, tg))
    for wx, wrec in pts:
        fast = gradient_at(stats, wx, wrec, SIGN_RTOL)
        if fast is None:
            continue
        ref = exact(rows, tg, wx, wrec)
        assert rel_close(fast[0], ref.grad_wx, SIGN_RTOL, TINY)
        assert rel_close(fast[1], ref.grad_wrec, SIGN_RTOL, TINY)
        assert np.sign(fast[0]) == np.sign(float(ref.grad_wx))
        assert np.sign(fast[1]) == np.sign(float(ref.grad_wrec))


def test_real_valued_inputs_near_the_optimum() -> None:
    # Inputs whose sums round: 0.1 + 0.2 + 0.3 is 0.6000000000000001 forwards, 0.6 backwards.
    # Near (1, 1) the residuals are ~1e-9; the moments' compensated sums keep them exact
    # enough to vouch for, and whatever is vouched for must be exact to RTOL.
    rows = [[0.1, 0.2, 0.3]]
    ds = from_sequences(rows)
    tg = ds.targets.tolist()
    for wx, wrec in [(1.0 + 1e-9, 1.0), (1.0, 1.0 + 2.0**-30), (1.0 + 2.0**-28, 1.0 - 2.0**-29)]:
        _check_against_exact(ds, rows, tg, wx, wrec)


def test_unsure_points_are_answered_by_bptt() -> None:
    # Towards overflow the fast path stops vouching; the oracle then gives BPTT's numbers.
    ds = generate(200, 60, seed=3)
    wrec = np.geomspace(1.5, 1e6, 300)
    w = np.column_stack([np.ones_like(wrec), wrec])
    oracle = Oracle(ds)
    assert oracle.stats is not None
    unsure = ~evaluate(oracle.stats, w[:, 0], w[:, 1]).sure
    assert 0 < unsure.sum() < len(w)
    grad, loss = oracle.gradients(w, with_loss=True)
    assert loss is not None
    for i in np.flatnonzero(unsure)[::15]:
        g = gradient(ds, 1.0, float(wrec[i]))
        assert _same(grad[i, 0], g.wx)
        assert _same(grad[i, 1], g.wrec)
        assert _same(loss[i], g.loss)
        one, _ = oracle.gradients(w[i : i + 1])  # the single-point path agrees
        assert _same(one[0, 0], g.wx)
        assert _same(one[0, 1], g.wrec)


def test_overflow_is_unsure_and_its_size_still_known() -> None:
    ds = tutorial_dataset()
    stats = Statistics(ds)
    for wrec in (1e40, -1e40, 1e300):
        ev = evaluate(stats, 1.0, wrec)
        assert not bool(ev.sure)
        assert gradient_at(stats, 1.0, wrec) is None
        # log2 of the true loss, known without overflowing: y ~ wrec^9 makes loss ~ wrec^18.
        ref = exact(tutorial_rows(), ds.targets.tolist(), 1.0, wrec).loss
        log2_ref = math.log2(ref.numerator) - math.log2(ref.denominator)
        assert float(ev.log2_loss) == pytest.approx(log2_ref, rel=1e-12)
    assert gradient_at(stats, float("nan"), 1.0) is None
    assert gradient_at(stats, 1.0, float("inf")) is None


def test_sure_never_hides_a_bptt_overflow() -> None:
    # Points between finite and overflowing: the fast path answers only where BPTT is finite.
    ds = generate(200, 60, seed=3)
    wrec = np.geomspace(1.5, 1e6, 300)
    ev = evaluate(Statistics(ds), 1.0, wrec)
    assert ev.sure.any()
    assert not ev.sure.all()
    for r in wrec[ev.sure][-5:]:
        g = gradient(ds, 1.0, float(r))
        assert math.isfinite(g.loss)
        assert math.isfinite(g.wx)
        assert math.isfinite(g.wrec)


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
def test_big_binary_data_are_exact(kind: str) -> None:
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
        ev = evaluate(stats, wx, wrec)
        if not bool(ev.sure):
            continue
        answered += 1
        loss, gx, gr = _exact_from_moments(ds.inputs, ds.targets, wx, wrec)
        assert rel_close(float(ev.loss), loss, RTOL, UNDERFLOW)
        assert rel_close(float(ev.grad_wx), gx, RTOL, UNDERFLOW)
        assert rel_close(float(ev.grad_wrec), gr, RTOL, UNDERFLOW)
    assert answered >= 3


# --- zeros and underflow ----------------------------------------------------------------

# One sequence (2, 0, ..., 0): y = 2 wx wrec^(T - 1). At tiny wx the products of the
# evaluation underflow to 0 while the true loss and gradients are far from it.
UNDERFLOWING = [
    ([[2.0, 0.0]], [0.0], 3.26637514e-164, 25.0),  # loss ~3e-324: 0 is no answer
    ([[2.0] + [0.0] * 5], [0.0], 3.26637514e-164, 434.0),  # loss ~1e-300
    ([[2.0] + [0.0] * 5], [0.0], 1e-170, 1e20),  # loss 4e-140
    ([[2.0] + [0.0] * 5], [1e-140], 1e-170, 1e20),  # loss 4e-140, not t^2 = 1e-280
]


@pytest.mark.parametrize(("rows", "targets", "wx", "wrec"), UNDERFLOWING)
def test_underflow_is_never_vouched_for(
    rows: list[list[float]], targets: list[float], wx: float, wrec: float
) -> None:
    ds = from_sequences(rows, targets)
    stats = Statistics(ds)
    assert not bool(evaluate(stats, wx, wrec).sure)
    assert not bool(evaluate(stats, wx, wrec, with_gradient=False).sure)
    _check_against_exact(ds, rows, targets, wx, wrec)
    # The reference path answers, right up to subnormal rounding.
    answer = Oracle(ds).losses(np.array([[wx, wrec]]))
    assert rel_close(float(answer[0]), exact(rows, targets, wx, wrec).loss, 1e-14, 1e-320)


def test_exact_zeros_are_still_vouched_for() -> None:
    # At the optimum every term has a zero factor; at wx = 0, so has dξ/dwrec = 2 wx (...).
    rows = tutorial_rows()
    stats = Statistics(tutorial_dataset())
    at_zero = evaluate(stats, 0.0, 0.5)
    assert bool(at_zero.sure)
    assert float(at_zero.grad_wrec) == 0.0
    ref = exact(rows, [sum(r) for r in rows], 0.0, 0.5)
    assert rel_close(float(at_zero.grad_wx), ref.grad_wx, RTOL)
    assert gradient_at(stats, 0.0, 0.5) == (float(at_zero.grad_wx), 0.0)
    assert gradient_at(stats, 1.0, 1.0) == (0.0, 0.0)
