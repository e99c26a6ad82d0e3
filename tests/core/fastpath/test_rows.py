"""core.fastpath.rows: losses from per-column polynomial values, as the forward pass has them.

Every value must be the forward pass's (core.model.losses_at) within 1e-10 relative or the
pass's own rounding, with the same inf and NaN cells, and the exact big-integer loss within
1e-10 or one pass's rounding; none of it depends on how fast the machine is.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from core.datasets import Dataset, from_sequences, generate
from core.fastpath import Statistics, disabled, exact_losses, grid_losses, settle
from core.fastpath.columns import columns
from core.fastpath.rows import grid_losses_by_rows, row_losses, settle_cheapest
from core.model import losses_at
from core.surface import loss_grid
from tests.core._reference import (
    UNDERFLOW,
    datasets,
    exact,
    forward_slack,
    grid_axis,
    rounding_slack,
)

Data = tuple[list[list[float]], list[float] | None]
MAX = float(np.finfo(np.float64).max)


def assert_like_forward(ds: Dataset, wx: np.ndarray, wrec: np.ndarray, got: np.ndarray) -> None:
    """Point by point: the same inf/NaN points, finite ones within 1e-10 or the pass's rounding."""
    forward = losses_at(ds, wx, wrec)
    np.testing.assert_array_equal(np.isfinite(got), np.isfinite(forward))
    np.testing.assert_array_equal(np.isnan(got), np.isnan(forward))
    finite = np.isfinite(forward)
    slack = forward_slack(ds.inputs, ds.targets, wx, wrec)
    error = np.abs(got[finite] - forward[finite])
    allowed = 1e-10 * np.abs(forward[finite]) + 2 * slack[finite]
    assert (error <= allowed).all(), float(np.max(error / np.maximum(allowed, 1e-300)))


def _grid_points(wx: np.ndarray, wrec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.tile(wx, wrec.size), np.repeat(wrec, wx.size)


WINDOWS = {
    "overview": ((-3.0, 3.0), (-3.0, 3.0)),
    "valley": ((0.98, 1.02), (0.998, 1.002)),
    "near |wrec| = 1": ((-2.0, 2.0), (0.99999, 1.00001)),
    "near wrec = -1": ((-2.0, 2.0), (-1.001, -0.999)),
    "overflow": ((-1e3, 1e3), (-40.0, 40.0)),
}


@pytest.mark.parametrize("width", [500, 1000, 1500])
@pytest.mark.parametrize("window", sorted(WINDOWS))
def test_long_sequences_match_the_forward_pass(width: int, window: str) -> None:
    ds = generate(40, width, seed=width)
    (wx_lo, wx_hi), (r_lo, r_hi) = WINDOWS[window]
    wx, wrec = np.linspace(wx_lo, wx_hi, 13), np.linspace(r_lo, r_hi, 17)
    grid = grid_losses_by_rows(ds, wx, wrec)
    assert grid.shape == (17, 13)
    a, r = _grid_points(wx, wrec)
    assert_like_forward(ds, a, r, grid.ravel())


@pytest.mark.parametrize("width", [500, 1000, 1500])
def test_loss_grid_on_long_sequences_matches_the_forward_pass_with_the_fast_path_off(
    width: int,
) -> None:
    ds = generate(30, width, seed=1)
    wx, wrec = np.linspace(-0.5, 2.5, 11), np.linspace(-1.2, 1.2, 9)
    fast = loss_grid(ds, wx, wrec)
    with disabled():
        reference = loss_grid(ds, wx, wrec)
    np.testing.assert_array_equal(reference, losses_at(ds, wx[None, :], wrec[:, None]))
    a, r = _grid_points(wx, wrec)
    assert_like_forward(ds, a, r, fast.ravel())


@pytest.mark.parametrize("width", [500, 1000])
def test_valley_points_agree_with_the_exact_loss(width: int) -> None:
    # Bits with integer targets: the exact fallback is the correctly rounded loss.
    ds = generate(50, width, seed=3)
    wx = np.array([1.0, 1.0 + 1e-9, 0.999, 1.001, 0.5, 1.0, 1.0 - 1e-7])
    wrec = np.array([1.0, 1.0, 1.0 + 1e-6, 0.9999, 1.0005, 1.001, -1.0])
    got = row_losses(ds, wx, wrec)
    values = exact_losses(Statistics(ds), wx, wrec)
    assert values is not None
    slack = forward_slack(ds.inputs, ds.targets, wx, wrec)
    allowed = 1e-10 * np.abs(values) + slack
    assert (np.abs(got - values) <= allowed).all()
    assert got[0] == 0.0  # the exact optimum: every residual is zero


def test_real_valued_variable_length_data_with_targets() -> None:
    rng = np.random.default_rng(8)
    rows = [rng.normal(size=int(k)).tolist() for k in rng.integers(400, 1200, size=25)]
    ds = from_sequences(rows, rng.normal(scale=3.0, size=25).tolist())
    assert not ds.is_binary
    for wx_range, wrec_range in [((-3.0, 3.0), (-1.5, 1.5)), ((-0.5, 0.5), (0.995, 1.005))]:
        wx, wrec = np.linspace(*wx_range, 9), np.linspace(*wrec_range, 11)
        a, r = _grid_points(wx, wrec)
        assert_like_forward(ds, a, r, grid_losses_by_rows(ds, wx, wrec).ravel())


def test_points_in_any_order_with_repeated_columns() -> None:
    ds = generate(20, 600, seed=5)
    wx = np.array([1.0, 0.0, -2.0, 1.0, 3e-200, 0.7, 1.0])
    wrec = np.array([1.01, 1e40, 0.5, 1.01, 2.5, -1.3, 0.0])
    assert_like_forward(ds, wx, wrec, row_losses(ds, wx, wrec))
    assert row_losses(ds, wx[1:2], wrec[1:2])[0] == pytest.approx(np.mean(ds.targets**2))


@pytest.mark.parametrize("n", [30, 1])
def test_the_edge_of_overflow_is_where_the_forward_pass_has_it(n: int) -> None:
    # wx across the point where n * loss passes float64's largest value (for one sequence:
    # where its residual's square does): inf exactly where the forward pass's is.
    ds = generate(n, 700, seed=9)
    r = 1.5
    cols = columns(ds, np.array([r]))
    p2 = float(cols.p2[0]) * float(cols.scale[0]) ** 2  # mean P^2
    edge = np.sqrt(MAX / (ds.n_samples * p2))
    wx = edge * (1.0 + np.linspace(-1e-6, 1e-6, 41))
    wrec = np.full_like(wx, r)
    got = row_losses(ds, wx, wrec)
    assert 0 < np.isinf(got).sum() < got.size
    assert_like_forward(ds, wx, wrec, got)
    assert np.isinf(row_losses(ds, np.array([edge * 1.01]), np.array([r]))[0])


def test_inputs_so_large_that_products_overflow_take_the_forward_pass() -> None:
    ds = from_sequences([[1e300, -1e300, 2.0], [3.0, 1e299]], targets=[1.0, -2.0])
    wx = np.array([10.0, 1e10, 1e-300, 1.0, -1.0])
    wrec = np.array([1.0, 0.5, 1e300, -2.0, 1.5])
    assert_like_forward(ds, wx, wrec, row_losses(ds, wx, wrec))


@settings(max_examples=80, deadline=None)
@given(datasets(max_n=5, max_width=12), grid_axis, grid_axis)
@example(([[2.0, 0.0]], [0.0]), np.array([3.26637514e-164]), np.array([25.0]))  # underflow
@example(([[2.0, 0.0, 0.0, 0.0, 0.0, 0.0]], [0.0]), np.array([3.26637514e-164]), np.array([434.0]))
@example(([[1.0] * 12], None), np.array([0.0, 1e-300, 1.0]), np.array([1e3, -1e3]))
def test_any_grid_matches_the_forward_pass(data: Data, wx: np.ndarray, wrec: np.ndarray) -> None:
    rows, targets = data
    ds = from_sequences(rows, targets)
    a, r = _grid_points(wx, wrec)
    assert_like_forward(ds, a, r, grid_losses_by_rows(ds, wx, wrec).ravel())


long_wrec_axis = st.lists(
    st.one_of(
        st.floats(-1.5, 1.5),
        st.floats(0.999, 1.001),
        st.floats(-1.001, -0.999),
        st.floats(-1e3, 1e3),
        st.sampled_from([0.0, 1.0, -1.0]),
    ),
    min_size=1,
    max_size=6,
).map(lambda v: np.asarray(v, dtype=np.float64))


@st.composite
def long_datasets(draw: st.DrawFn) -> Dataset:
    """Up to 30 sequences of up to 4,096 steps: bits (targets their sums, or drawn) or reals."""
    n, width = draw(st.integers(1, 30)), draw(st.integers(1, 4096))
    seed = draw(st.integers(0, 2**16))
    if draw(st.booleans()):
        ds = generate(n, width, seed=seed)
        if draw(st.booleans()):
            return ds
        targets = np.random.default_rng(seed).integers(-3, 2 * width, size=n).astype(float)
        return Dataset(ds.inputs, ds.lengths, targets)
    rng = np.random.default_rng(seed)
    return from_sequences(rng.normal(size=(n, width)).tolist(), rng.normal(size=n).tolist())


@settings(max_examples=40, deadline=None)
@given(long_datasets(), grid_axis, long_wrec_axis)
@example(generate(20, 4096, seed=1), np.array([0.5, 1.0, 2.0]), np.array([1.0005, -1.2, 1.2]))
@example(
    from_sequences(np.random.default_rng(2).normal(size=(5, 3000)).tolist(), [1.0] * 5),
    np.array([-1.0, 0.0, 1e-3]),
    np.array([0.9999, -1.0, 1.3]),
)
def test_long_sequences_of_any_kind_match_the_forward_pass(
    ds: Dataset, wx: np.ndarray, wrec: np.ndarray
) -> None:
    a, r = _grid_points(wx, wrec)
    assert_like_forward(ds, a, r, grid_losses_by_rows(ds, wx, wrec).ravel())


@settings(max_examples=30, deadline=None)
@given(datasets(max_n=4, max_width=10, exact_sums=True), grid_axis, grid_axis)
def test_finite_values_are_within_rounding_of_the_exact_loss(
    data: Data, wx: np.ndarray, wrec: np.ndarray
) -> None:
    rows, targets = data
    ds = from_sequences(rows, targets)
    got = grid_losses_by_rows(ds, wx, wrec)
    tg = ds.targets.tolist()
    slack_unit = rounding_slack(ds.n_samples, ds.width)
    for i, r in enumerate(wrec.tolist()):
        for j, a in enumerate(wx.tolist()):
            if not np.isfinite(got[i, j]):
                continue
            ref = exact(ds.sequences(), tg, a, r)
            error = abs(Fraction(float(got[i, j])) - ref.loss)
            allowed = slack_unit * ref.loss_scale + UNDERFLOW  # products of tiny values underflow
            assert error <= Fraction(1e-10) * ref.loss + Fraction(allowed)


def test_settle_cheapest_answers_the_unsure_cells_like_settle() -> None:
    # The valley of 100-step sequences, which the statistics leave unsure: the rows answer
    # within rounding of the exact loss, the same points settle() answers exactly.
    ds = generate(2_000, 100, seed=1)
    stats = Statistics(ds)
    axis = np.linspace(0.9, 1.1, 129)
    _, unsure = grid_losses(stats, axis, axis)
    assert unsure is not None
    rows, cols = np.nonzero(unsure)
    wx, wrec = axis[cols], axis[rows]
    got = settle_cheapest(stats, ds, wx, wrec)
    exact_values = settle(stats, ds, wx, wrec)
    slack = forward_slack(ds.inputs, ds.targets, wx, wrec)
    assert (np.abs(got - exact_values) <= 1e-10 * exact_values + slack).all()


def test_settle_cheapest_keeps_exact_arithmetic_where_it_is_cheaper() -> None:
    # Very many sequences of few steps: one column of rows costs more than a few exact losses.
    ds = generate(200_000, 3, seed=2)
    stats = Statistics(ds)
    wx, wrec = np.array([1.0, 0.999]), np.array([1.0001, 1.0001])
    np.testing.assert_array_equal(settle_cheapest(stats, ds, wx, wrec), settle(stats, ds, wx, wrec))


def test_empty_points() -> None:
    ds = generate(3, 700, seed=1)
    assert row_losses(ds, np.array([]), np.array([])).shape == (0,)


def test_columns_in_blocks_are_the_columns_at_once() -> None:
    # Many columns of long sequences are taken a block at a time: the same summaries.
    ds = generate(7, 3000, seed=4)
    wrec = np.linspace(-1.2, 1.2, 1500)
    whole = columns(ds, wrec)
    assert whole.wrec.shape == (1500,)
    np.testing.assert_array_equal(whole.wrec, wrec)
    for name in ("p2", "l0", "a_max"):
        part = getattr(columns(ds, wrec[700:703]), name)
        np.testing.assert_allclose(getattr(whole, name)[700:703], part, rtol=1e-13)
