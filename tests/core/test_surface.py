"""core.surface: loss surfaces (fast path, else the forward pass) and the gradient over time."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import example, given, settings

from core.bptt import gradient
from core.datasets import Dataset, from_sequences, generate, tutorial_dataset
from core.errors import InvalidInputError
from core.fastpath import MAX_FAST_WIDTH, statistics
from core.model import losses_at
from core.surface import (
    TUTORIAL_POINTS,
    gradient_over_time,
    loss_grid,
    loss_surface,
    loss_surface_on,
)
from core.window import Window
from tests.core._reference import (
    TRACE_AT_1_2,
    datasets,
    exact,
    forward_slack,
    grid_axis,
    rel_close,
    rounding_slack,
)

Data = tuple[list[list[float]], list[float] | None]


def assert_matches_forward_pass(
    ds: Dataset, wx: np.ndarray, wrec: np.ndarray, grid: np.ndarray
) -> None:
    """Cell by cell: the same non-finite cells, finite ones within 1e-10 or the pass's rounding."""
    forward = losses_at(ds, wx[None, :], wrec[:, None])
    assert grid.shape == forward.shape == (wrec.size, wx.size)
    np.testing.assert_array_equal(np.isfinite(grid), np.isfinite(forward))
    np.testing.assert_array_equal(np.isnan(grid), np.isnan(forward))
    finite = np.isfinite(forward)
    slack = forward_slack(ds.inputs, ds.targets, wx[None, :], wrec[:, None])
    error = np.abs(grid[finite] - forward[finite])
    allowed = 1e-10 * np.abs(forward[finite]) + 2 * slack[finite]
    assert (error <= allowed).all(), float(np.max(error / np.maximum(allowed, 1e-300)))


def test_default_surface_is_the_tutorials_overview() -> None:
    ds = tutorial_dataset()
    s = loss_surface(ds)
    np.testing.assert_array_equal(s.wx, np.linspace(-3, 3, 50))
    np.testing.assert_array_equal(s.wrec, np.linspace(-3, 3, 50))
    assert s.loss.shape == (50, 50)
    assert not s.overflow
    assert_matches_forward_pass(ds, s.wx, s.wrec, s.loss)


def test_surface_minimum_is_the_finite_argmin_of_the_grid() -> None:
    ds = tutorial_dataset()
    s = loss_surface(ds)
    forward = losses_at(ds, s.wx[None, :], s.wrec[:, None])
    i, j = np.unravel_index(int(np.argmin(forward)), forward.shape)
    assert (s.min_wx, s.min_wrec) == (s.wx[j], s.wrec[i])
    assert s.min_loss == pytest.approx(forward[i, j], rel=1e-10)
    assert s.min_loss == s.loss.min()
    # In the valley around (1, 1).
    assert 0.5 < s.min_wx < 1.5
    assert 0.5 < s.min_wrec < 1.5
    assert s.min_loss < 1.0


def test_surface_minimum_skips_overflowed_cells() -> None:
    ds = generate(40, 80, seed=6)
    s = loss_surface(ds, (-2.0, 2.0), (-1e40, 1e40), 9, 41)
    assert s.overflow
    finite = np.where(np.isfinite(s.loss), s.loss, np.inf)
    i, j = np.unravel_index(int(np.argmin(finite)), finite.shape)
    assert (s.min_wx, s.min_wrec, s.min_loss) == (s.wx[j], s.wrec[i], s.loss[i, j])
    assert math.isfinite(s.min_loss)


def test_a_surface_that_overflows_everywhere_has_no_minimum() -> None:
    s = loss_surface(generate(10, 300, seed=1), (1.0, 2.0), (1e10, 1e20), 3, 3)
    assert not np.isfinite(s.loss).any()
    assert math.isnan(s.min_wx)
    assert math.isnan(s.min_wrec)
    assert math.isnan(s.min_loss)


@pytest.mark.parametrize(
    ("wx_range", "wrec_range"),
    [
        ((-0.1, 2.1), (-0.1, 2.1)),  # the tutorial's zoom
        ((0.99, 1.01), (0.99, 1.01)),
        ((1 - 1e-4, 1 + 1e-4), (1 - 1e-5, 1 + 1e-5)),
        ((-3.0, 3.0), (0.5, 1.5)),
    ],
)
def test_zoomed_surfaces_match_the_forward_pass(
    wx_range: tuple[float, float], wrec_range: tuple[float, float]
) -> None:
    ds = tutorial_dataset()
    s = loss_surface(ds, wx_range, wrec_range, 41, 37)
    assert_matches_forward_pass(ds, s.wx, s.wrec, s.loss)


@settings(max_examples=60, deadline=None)
@given(datasets(max_n=5, max_width=8), grid_axis, grid_axis)
@example(([[2.0, 0.0]], [0.0]), np.array([3.26637514e-164]), np.array([25.0]))  # underflow
@example(([[2.0, 0.0, 0.0, 0.0, 0.0, 0.0]], [0.0]), np.array([3.26637514e-164]), np.array([434.0]))
def test_loss_grid_matches_the_forward_pass_on_any_grid(
    data: Data, wx: np.ndarray, wrec: np.ndarray
) -> None:
    rows, targets = data
    ds = from_sequences(rows, targets)
    assert_matches_forward_pass(ds, wx, wrec, loss_grid(ds, wx, wrec))


@pytest.mark.parametrize(
    ("wx_range", "wrec_range", "nx", "ny"),
    [
        ((-3.0, 3.0), (-1e3, 1e3), 13, 61),
        ((-3.0, 3.0), (-1e40, 1e40), 11, 41),
        ((0.0, 1e3), (-1.2, 1.2), 21, 21),
        ((-1.0, 2.0), (0.98, 1.02), 7, 9),
    ],
)
def test_surfaces_reaching_overflow_match_the_forward_pass(
    wx_range: tuple[float, float], wrec_range: tuple[float, float], nx: int, ny: int
) -> None:
    ds = generate(60, 120, seed=2)
    s = loss_surface(ds, wx_range, wrec_range, nx, ny)
    assert_matches_forward_pass(ds, s.wx, s.wrec, s.loss)


def test_overflow_surface_really_overflows() -> None:
    ds = generate(60, 120, seed=2)
    s = loss_surface(ds, (-3.0, 3.0), (-1e3, 1e3), 13, 61)
    assert s.overflow
    assert np.isfinite(s.loss).any()


def test_variable_length_real_valued_data_with_targets() -> None:
    rng = np.random.default_rng(5)
    rows = [rng.normal(size=int(k)).tolist() for k in rng.integers(1, 15, size=40)]
    targets = rng.normal(scale=3.0, size=40).tolist()
    ds = from_sequences(rows, targets)
    assert not ds.is_binary
    for wx_range, wrec_range in [((-3.0, 3.0), (-3.0, 3.0)), ((-0.5, 0.5), (0.9, 1.1))]:
        s = loss_surface(ds, wx_range, wrec_range, 23, 29)
        assert_matches_forward_pass(ds, s.wx, s.wrec, s.loss)


def test_a_dataset_too_wide_for_statistics_takes_the_rows() -> None:
    rng = np.random.default_rng(0)
    width = MAX_FAST_WIDTH + 6
    rows = [(rng.random(width) < 0.5).astype(float).tolist(), [1.0, 0.0, 1.0]]
    ds = from_sequences(rows)
    assert statistics(ds) is None
    wx = np.linspace(-1.0, 2.0, 6)  # wx = 0 would give finite outputs (0) everywhere
    wrec = np.array([-1.5, -1.0, 0.0, 0.5, 1.0, 1.01])
    grid = loss_grid(ds, wx, wrec)
    assert_matches_forward_pass(ds, wx, wrec, grid)
    assert not np.isfinite(grid[0]).any()  # 1.5^1029 overflows
    assert np.isfinite(grid[1:]).all()
    s = loss_surface(ds, (0.5, 1.5), (0.5, 1.0), 5, 6)
    assert_matches_forward_pass(ds, s.wx, s.wrec, s.loss)


def test_loss_grid_takes_points_in_any_order() -> None:
    # loss_grid is public: wx need not be sorted. The middle point's loss (~1.8e307) is
    # finite, but summing 20 squared errors ~1e307 overflows in the forward pass.
    ds = tutorial_dataset()
    wx = np.array([5e151, 8e152, 5e151])
    wrec = np.array([1.0])
    assert_matches_forward_pass(ds, wx, wrec, loss_grid(ds, wx, wrec))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"wx_range": (0.0, float("inf"))}, "wx_max"),
        ({"wrec_range": (float("nan"), 1.0)}, "wrec_min"),
        ({"wx_range": (2.0, 1.0)}, "wx_max"),
        ({"wrec_range": (0.0, -1.0)}, "wrec_max"),
        ({"wx_range": (-1e308, 1e308)}, "wx_max"),
        ({"nx": 0}, "nx"),
        ({"ny": -1}, "ny"),
    ],
)
def test_loss_surface_rejects_bad_grids_naming_the_field(
    kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInputError) as info:
        loss_surface(tutorial_dataset(), **kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


def test_a_surface_on_a_window_is_the_surface_of_its_ranges() -> None:
    ds = tutorial_dataset()
    on = loss_surface_on(ds, Window(-0.1, 2.1, -0.1, 2.1, 17, 13))
    ranges = loss_surface(ds, (-0.1, 2.1), (-0.1, 2.1), 17, 13)
    np.testing.assert_array_equal(on.loss, ranges.loss)
    np.testing.assert_array_equal(on.wx, np.linspace(-0.1, 2.1, 17))
    np.testing.assert_array_equal(on.wrec, np.linspace(-0.1, 2.1, 13))
    assert (on.min_wx, on.min_wrec, on.min_loss) == (
        ranges.min_wx,
        ranges.min_wrec,
        ranges.min_loss,
    )


def test_single_cell_surface() -> None:
    ds = tutorial_dataset()
    s = loss_surface(ds, (2.0, 2.0), (1.0, 1.0), 1, 1)
    assert s.loss.shape == (1, 1)
    assert s.loss[0, 0] == pytest.approx(28.35, rel=1e-12)
    assert (s.min_wx, s.min_wrec) == (2.0, 1.0)


# --- gradient over time -------------------------------------------------------------------


def _assert_trace_matches(ds: Dataset, point: tuple[float, float], got: np.ndarray) -> None:
    """got[k] = 2 mean(y - t) wrec^(T - k), exactly up to rounding of BPTT's own size."""
    wx, wrec = point
    rows = ds.sequences()
    ref = exact(rows, ds.targets.tolist(), wx, wrec)
    bptt = gradient(ds, wx, wrec).trace
    T = ds.width
    slack = rounding_slack(ds.n_samples, T) * 2 * ref.residual_scale
    for k in range(T + 1):
        power = abs(wrec) ** (T - k)
        expected = 2 * ref.mean_residual * Fraction(wrec) ** (T - k)
        assert rel_close(float(got[k]), expected, 1e-12, slack * power), (point, k)
        assert rel_close(float(bptt[k]), expected, 1e-12, slack * power), (point, k)


def test_gradient_over_time_defaults_to_the_tutorial_points() -> None:
    ds = tutorial_dataset()
    got = gradient_over_time(ds)
    np.testing.assert_array_equal(got.points, np.asarray(TUTORIAL_POINTS))
    np.testing.assert_array_equal(got.timesteps, np.arange(11))
    assert got.grads.shape == (6, 11)
    for p, point in enumerate(TUTORIAL_POINTS):
        _assert_trace_matches(ds, point, got.grads[p])


def test_gradient_over_time_at_1_2_is_the_reference_geometric_sequence() -> None:
    grads = gradient_over_time(tutorial_dataset(), [(1.0, 2.0)]).grads[0]
    assert grads[-1] == pytest.approx(TRACE_AT_1_2[0], rel=1e-12)
    assert grads[0] == pytest.approx(TRACE_AT_1_2[1], rel=1e-12)
    np.testing.assert_allclose(grads[:-1] / grads[1:], 2.0, rtol=1e-14)


def test_gradient_over_time_explodes_and_vanishes_as_the_tutorial_shows() -> None:
    grads = gradient_over_time(tutorial_dataset()).grads
    magnitude = np.abs(grads)
    assert magnitude[1, 0] > 1000 * magnitude[1, -1]  # (1, 2): explodes back in time
    assert magnitude[2, 0] > 1000 * magnitude[2, -1]  # (1, -2): explodes, alternating
    assert (np.sign(grads[2, :-1]) == -np.sign(grads[2, 1:])).all()
    assert magnitude[4, 0] < 1e-2 * magnitude[4, -1]  # (1, 0.5): vanishes
    np.testing.assert_array_equal(grads[3, :-1], 0.0)  # (1, 0): gone after one step
    np.testing.assert_allclose(grads[0], grads[0, -1], rtol=1e-15)  # (2, 1): constant


@pytest.mark.parametrize(
    "point", [(1.0, 1.0), (0.7, 1.3), (1.2, -1.1), (1.0 + 1e-7, 1.0 - 1e-7), (3.0, 0.99)]
)
def test_gradient_over_time_on_variable_length_data(point: tuple[float, float]) -> None:
    ds = generate(300, min_length=2, max_length=25, seed=9)
    _assert_trace_matches(ds, point, gradient_over_time(ds, [point]).grads[0])


@pytest.mark.parametrize("point", [(0.0, 3.0), (0.0, 30.0), (0.0, 1e3)])
def test_gradient_over_time_where_the_output_is_zero(point: tuple[float, float]) -> None:
    # wx = 0: every output is 0 and the trace is -2 mean(t) wrec^(T - k), as BPTT says.
    ds = tutorial_dataset()
    got = gradient_over_time(ds, [point]).grads[0]
    expected = -2 * 5.15 * point[1] ** np.arange(10, -1, -1)
    np.testing.assert_allclose(gradient(ds, *point).trace, expected, rtol=1e-13)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_gradient_over_time_keeps_bptts_overflow() -> None:
    ds = generate(30, 200, seed=4)
    points = [(1.0, 1e40), (1.0, -1e40), (1.0, 40.0), (1.0, 1.0)]
    got = gradient_over_time(ds, points)
    for p, point in enumerate(points[:3]):
        assert not np.isfinite(got.grads[p]).all()
        np.testing.assert_array_equal(got.grads[p], gradient(ds, *point).trace)  # nan == nan here
    np.testing.assert_allclose(got.grads[3], gradient(ds, 1.0, 1.0).trace, rtol=1e-12)


def test_gradient_over_time_of_a_wide_dataset() -> None:
    ds = from_sequences([[1.0] * (MAX_FAST_WIDTH + 2), [0.0, 1.0]], targets=[3.0, 0.0])
    got = gradient_over_time(ds, [(1.0, 0.5), (0.5, 1.0)])
    np.testing.assert_array_equal(got.grads[0], gradient(ds, 1.0, 0.5).trace)
    np.testing.assert_array_equal(got.grads[1], gradient(ds, 0.5, 1.0).trace)
    assert got.timesteps[-1] == MAX_FAST_WIDTH + 2


@pytest.mark.parametrize("points", [[], [(1.0, float("nan"))], [(float("inf"), 1.0), (1.0, 1.0)]])
def test_gradient_over_time_rejects_bad_points(points: list[tuple[float, float]]) -> None:
    with pytest.raises(InvalidInputError) as info:
        gradient_over_time(tutorial_dataset(), points)
    assert info.value.field == "points"
