"""core.bptt: the reference gradient, against the tutorial's numbers, finite differences and
exact rational arithmetic."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import core.bptt
from core.bptt import backward_gradient, gradient, output_gradient
from core.cancel import Cancelled, stop_when
from core.datasets import from_sequences, generate, tutorial_dataset
from core.model import forward_states, loss
from tests.core._reference import (
    TRACE_AT_1_2,
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
def test_gradient_reproduces_the_reference_table(
    point: tuple[float, float], expected: tuple[float, float, float]
) -> None:
    g = gradient(tutorial_dataset(), *point)
    assert g.loss == pytest.approx(expected[0], rel=1e-12)
    assert g.wx == pytest.approx(expected[1], rel=1e-12)
    assert g.wrec == pytest.approx(expected[2], rel=1e-12)


def test_trace_at_1_2_doubles_at_each_step_back() -> None:
    g = gradient(tutorial_dataset(), 1.0, 2.0)
    assert g.trace.shape == (11,)
    assert g.trace[-1] == pytest.approx(TRACE_AT_1_2[0], rel=1e-12)
    assert g.trace[0] == pytest.approx(TRACE_AT_1_2[1], rel=1e-12)
    np.testing.assert_array_equal(g.trace[:-1], 2.0 * g.trace[1:])


def test_trace_vanishes_at_wrec_0_and_stays_constant_at_wrec_1() -> None:
    ds = tutorial_dataset()
    zero = gradient(ds, 1.0, 0.0).trace
    assert zero[-1] != 0.0
    np.testing.assert_array_equal(zero[:-1], 0.0)
    one = gradient(ds, 1.5, 1.0).trace
    np.testing.assert_allclose(one, one[-1], rtol=1e-15)


def test_per_sequence_trace_sums_to_the_trace() -> None:
    ds = tutorial_dataset()
    plain = gradient(ds, 1.0, 2.0)
    g = gradient(ds, 1.0, 2.0, per_sequence=True)
    assert plain.per_sequence is None
    assert g.per_sequence is not None
    assert g.per_sequence.shape == (20, 11)
    np.testing.assert_allclose(g.per_sequence.sum(axis=0), g.trace, rtol=1e-14)
    # Row i is 2 (y_i - t_i) / N 2^(n - k).
    y = forward_states(ds.inputs.astype(float), 1.0, 2.0)[:, -1]
    expected = 2.0 * (y - ds.targets)[:, None] / 20 * 2.0 ** np.arange(10, -1, -1)
    np.testing.assert_allclose(g.per_sequence, expected, rtol=1e-15)


def test_the_tutorial_helpers_compose_to_the_gradient() -> None:
    ds = tutorial_dataset()
    X = ds.inputs.astype(np.float64)
    S = forward_states(X, 1.0, -2.0)
    np.testing.assert_array_equal(
        output_gradient(S[:, -1], ds.targets), 2.0 * (S[:, -1] - ds.targets)
    )
    gx, gr, grad_S = backward_gradient(X, S, output_gradient(S[:, -1], ds.targets) / 20, -2.0)
    assert (gx, gr) == pytest.approx(TUTORIAL_VALUES[(1.0, -2.0)][1:], rel=1e-12)
    assert grad_S.shape == (20, 11)


def test_blocks_do_not_change_the_gradient(monkeypatch: pytest.MonkeyPatch) -> None:
    ds = generate(500, min_length=1, max_length=12, seed=8)
    whole = gradient(ds, 0.8, 1.05, per_sequence=True)
    monkeypatch.setattr(core.bptt, "_BLOCK_ELEMENTS", 50)  # blocks of 3 or 4 rows
    blocked = gradient(ds, 0.8, 1.05, per_sequence=True)
    assert blocked.loss == pytest.approx(whole.loss, rel=1e-13)
    assert blocked.wx == pytest.approx(whole.wx, rel=1e-13)
    assert blocked.wrec == pytest.approx(whole.wrec, rel=1e-13)
    np.testing.assert_allclose(blocked.trace, whole.trace, rtol=1e-13)
    assert blocked.per_sequence is not None
    assert whole.per_sequence is not None
    np.testing.assert_array_equal(blocked.per_sequence, whole.per_sequence)


def test_overflow_gives_non_finite_values_without_warnings() -> None:
    ds = generate(30, 100, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = gradient(ds, 1.0, 1e40)
    assert g.loss == np.inf
    assert not math.isfinite(g.wx)
    assert not math.isfinite(g.wrec)
    assert not np.isfinite(g.trace[0])


def test_zero_padding_stays_exact_where_the_trace_overflows() -> None:
    rows = [[1.0, 1.0], [0.0, 1.0]]
    padded = [[0.0] * 100 + row for row in rows]
    a, b = from_sequences(rows), from_sequences(padded)
    ga, gb = gradient(a, 0.5, 1e5), gradient(b, 0.5, 1e5)
    assert math.isfinite(ga.wx)
    assert math.isfinite(ga.wrec)
    assert not np.isfinite(gb.trace[0])  # 2 (y - t) / N * 1e5^101 overflows in the padding...
    assert (gb.loss, gb.wx, gb.wrec) == (ga.loss, ga.wx, ga.wrec)  # ...but multiplies zeros
    np.testing.assert_array_equal(gb.trace[-3:], ga.trace)


# --- properties ---------------------------------------------------------------------------


def _third_derivative_bound(
    rows: list[list[float]], targets: list[float], wx: float, r: float
) -> float:
    """A bound on |d^3 loss / d wrec^3| over [r - h, r + h], from |coefficients| at |r| + h."""
    rho = abs(r) + 1e-3
    total = 0.0
    for row, t in zip(rows, targets, strict=True):
        T = len(row)
        c = [abs(x * wx) for x in row]  # y = sum_k c_k r^(T - 1 - k)
        powers = [T - 1 - k for k in range(T)]

        def deriv(j: int, c: list[float] = c, powers: list[int] = powers) -> float:
            return sum(
                ck * math.perm(m, j) * rho ** (m - j)
                for ck, m in zip(c, powers, strict=True)
                if m >= j
            )

        total += 2 * (deriv(0) + abs(t)) * deriv(3) + 6 * deriv(1) * deriv(2)
    return total / len(rows)


@settings(max_examples=60, deadline=None)
@given(datasets(), finite_weight, stable_wrec)
def test_bptt_equals_central_differences(data: Data, wx: float, wrec: float) -> None:
    rows, targets = data
    tg = default_targets(rows, targets)
    ds = from_sequences(rows, tg)
    g = gradient(ds, wx, wrec)
    ref = exact(rows, tg, wx, wrec)
    slack = rounding_slack(ds.n_samples, ds.width)
    for name, analytic, w, scale, third in (
        ("wx", g.wx, wx, ref.wx_scale, 0.0),  # the loss is quadratic in wx
        ("wrec", g.wrec, wrec, ref.wrec_scale, _third_derivative_bound(rows, tg, wx, wrec)),
    ):
        h = 2.0**-18 * max(1.0, abs(w))
        up, down = w + h, w - h  # rounded: divide by the step actually taken
        plus = (up, wrec) if name == "wx" else (wx, up)
        minus = (down, wrec) if name == "wx" else (wx, down)
        numeric = (loss(ds, *plus) - loss(ds, *minus)) / (up - down)
        # Rounding of the two losses, truncation h^2/6 |L'''|, and BPTT's own rounding.
        loss_scale = max(exact(rows, tg, *plus).loss_scale, exact(rows, tg, *minus).loss_scale)
        tolerance = slack * loss_scale / h + h * h / 6 * third + slack * scale
        assert abs(numeric - analytic) <= 2 * tolerance + UNDERFLOW, (name, numeric, analytic)


@settings(max_examples=60, deadline=None)
@given(datasets(), finite_weight, stable_wrec)
def test_bptt_is_exact_up_to_its_rounding(data: Data, wx: float, wrec: float) -> None:
    rows, targets = data
    tg = default_targets(rows, targets)
    ds = from_sequences(rows, tg)
    g = gradient(ds, wx, wrec)
    ref = exact(rows, tg, wx, wrec)
    slack = rounding_slack(ds.n_samples, ds.width)
    assert rel_close(g.loss, ref.loss, 0.0, slack * ref.loss_scale + UNDERFLOW)
    assert rel_close(g.wx, ref.grad_wx, 0.0, slack * ref.wx_scale + UNDERFLOW)
    assert rel_close(g.wrec, ref.grad_wrec, 0.0, slack * ref.wrec_scale + UNDERFLOW)
    # The trace's last entry is the mean output gradient 2 mean(y - t).
    slack_residual = 2 * slack * ref.residual_scale + UNDERFLOW
    assert rel_close(g.trace[-1], 2 * ref.mean_residual, 0.0, slack_residual)


@settings(max_examples=40, deadline=None)
@given(datasets(), st.lists(st.integers(0, 6), min_size=5, max_size=5), finite_weight, stable_wrec)
def test_left_padding_leaves_the_gradient_unchanged(
    data: Data, pads: list[int], wx: float, wrec: float
) -> None:
    rows, targets = data
    tg = default_targets(rows, targets)
    padded = [[0.0] * pad + row for pad, row in zip(pads, rows, strict=False)]
    a, b = from_sequences(rows, tg), from_sequences(padded, tg)
    ga, gb = gradient(a, wx, wrec), gradient(b, wx, wrec)
    assert (gb.loss, gb.wx, gb.wrec) == (ga.loss, ga.wx, ga.wrec)
    # The trace only gains earlier timesteps (the same geometric sequence, continued).
    np.testing.assert_array_equal(gb.trace[b.width - a.width :], ga.trace)


# --- time-major at long T: the tutorial's row-major loop, to the bit ---------------------------


def _row_major_bptt(X: np.ndarray, t: np.ndarray, wx: float, wrec: float) -> tuple[float, ...]:
    """The tutorial's BPTT as first written: (n, T) arrays, one strided column per step."""
    n, T = X.shape
    with np.errstate(over="ignore", invalid="ignore"):
        S = np.zeros((n, T + 1))
        for k in range(T):
            S[:, k + 1] = X[:, k] * wx + S[:, k] * wrec
        grad = np.zeros((n, T + 1))
        grad[:, T] = 2.0 * (S[:, T] - t) / n
        gx = gr = 0.0
        for k in range(T, 0, -1):
            for values, name in ((X[:, k - 1], "x"), (S[:, k - 1], "s")):
                products = grad[:, k] * values
                products[values == 0] = 0.0  # 0 * inf counts as 0, as bptt.py documents
                if name == "x":
                    gx += float(products.sum())
                else:
                    gr += float(products.sum())
            grad[:, k - 1] = grad[:, k] * wrec
        return float(np.sum((t - S[:, T]) ** 2)) / n, gx, gr


@pytest.mark.parametrize(
    ("width", "wx", "wrec"),
    [
        (1025, 0.5, 1.0),  # past the statistics' widest: BPTT's own territory
        (700, 1.3, 0.999),
        (1500, -0.7, -1.0005),
        (300, 1.0, 3.0),  # the states overflow part-way
        (300, 2.0, 1e5),  # the trace overflows where the inputs are zero padding
        (400, 0.8, 0.0),
        (64, 1.0, 1.0),  # exactly CHECK_EVERY steps
    ],
)
def test_time_major_equals_the_row_major_loop_to_the_bit(
    width: int, wx: float, wrec: float
) -> None:
    ds = generate(37, min_length=1, max_length=width, seed=width)
    g = gradient(ds, wx, wrec)
    expected = _row_major_bptt(ds.inputs.astype(np.float64), ds.targets, wx, wrec)
    np.testing.assert_array_equal([g.loss, g.wx, g.wrec], expected)


def test_time_major_blocks_and_layer_chunks_leave_the_gradient_unchanged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ds = generate(61, min_length=200, max_length=260, seed=3)
    whole = gradient(ds, 0.9, 1.002, per_sequence=True)
    monkeypatch.setattr(core.bptt, "_BLOCK_ELEMENTS", 5 * 261)  # blocks of 5 rows
    monkeypatch.setattr(core.bptt, "_SCRATCH_ELEMENTS", 7)  # the products 1 layer at a time
    chunked = gradient(ds, 0.9, 1.002, per_sequence=True)
    assert (chunked.loss, chunked.wx, chunked.wrec) == pytest.approx(
        (whole.loss, whole.wx, whole.wrec), rel=1e-13
    )
    assert chunked.per_sequence is not None
    assert whole.per_sequence is not None
    np.testing.assert_array_equal(chunked.per_sequence, whole.per_sequence)


@pytest.mark.parametrize(("wx", "wrec"), [(0.75, 1.03125), (1.5, -0.984375), (-0.5, 0.5)])
def test_long_sequences_are_exact_up_to_rounding(wx: float, wrec: float) -> None:
    rows = [[float((i * 7 + k * 3) % 5 == 0) for k in range(600 + 50 * i)] for i in range(4)]
    rows.append([0.0] * 300 + [1.0, 0.5, -1.0])  # a long zero prefix
    targets = [3.0, -1.0, 0.5, 2.0, 1.0]
    ds = from_sequences(rows, targets)
    g = gradient(ds, wx, wrec)
    ref = exact(rows, targets, wx, wrec)
    slack = rounding_slack(ds.n_samples, ds.width)
    assert rel_close(g.loss, ref.loss, 0.0, slack * ref.loss_scale + UNDERFLOW)
    assert rel_close(g.wx, ref.grad_wx, 0.0, slack * ref.wx_scale + UNDERFLOW)
    assert rel_close(g.wrec, ref.grad_wrec, 0.0, slack * ref.wrec_scale + UNDERFLOW)


def test_a_long_run_can_be_cancelled_between_steps() -> None:
    ds = generate(4, 5000, seed=1)
    calls = 0

    def stop() -> bool:
        nonlocal calls
        calls += 1
        return calls > 3

    with stop_when(stop), pytest.raises(Cancelled):
        gradient(ds, 0.5, 1.0)
