"""core.fastpath.exact: the loss in big-integer arithmetic, and settling unsure points."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from core.datasets import from_sequences, generate
from core.fastpath import Statistics, exact_losses, grid_losses, settle
from core.fastpath.bounds import TINY
from core.model import losses_at
from tests.core._reference import default_targets, exact


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
    values = exact_losses(Statistics(ds), wx, wrec)
    assert values is not None
    for value, (a, r) in zip(values.tolist(), points, strict=True):
        reference = exact(rows, default_targets(rows, None), a, r).loss
        assert value == float(reference)  # not close: equal, to the last bit


def test_exact_losses_need_bits_and_integer_targets() -> None:
    one = np.array([1.0])
    assert exact_losses(Statistics(from_sequences([[0.5, 1.0], [1.0]])), one, one) is None
    assert exact_losses(Statistics(from_sequences([[1, 0]], [0.5])), one, one) is None
    assert exact_losses(Statistics(from_sequences([[1, 0]], [-3.0])), one, one) is not None


def test_exact_losses_beyond_float64_are_inf_and_non_finite_points_nan() -> None:
    stats = Statistics(generate(10, 300, seed=1))
    values = exact_losses(stats, np.array([1.0, np.nan, 1.0]), np.array([1e10, 1.0, np.inf]))
    assert values is not None
    assert values[0] == np.inf
    assert np.isnan(values[1:]).all()


def test_settle_answers_the_valley_of_long_sequences_exactly() -> None:
    # Where neither float form can vouch for the loss (the valley of 100-step sequences),
    # settle() is exact and agrees with the forward pass within its rounding.
    ds = generate(2_000, 100, seed=1)
    stats = Statistics(ds)
    axis = np.linspace(0.9, 1.1, 257)
    _, unsure = grid_losses(stats, axis, axis)
    assert unsure is not None
    rows, cols = np.nonzero(unsure)
    settled = settle(stats, ds, axis[cols], axis[rows])
    exact_values = exact_losses(stats, axis[cols], axis[rows])
    assert exact_values is not None
    np.testing.assert_array_equal(settled, exact_values)
    forward = losses_at(ds, axis[cols], axis[rows])
    np.testing.assert_allclose(settled, forward, rtol=1e-9)


def test_settle_leaves_float64s_edges_and_real_data_to_the_forward_pass() -> None:
    # Towards overflow BPTT's sums leave float64 before the exact loss does: there, and
    # for real-valued data, settle gives the forward pass's number.
    bits = generate(30, 200, seed=4)
    stats = Statistics(bits)
    wrec = np.linspace(1.0, 6.0, 41)
    wx = np.ones_like(wrec)
    exact_values = exact_losses(stats, wx, wrec)
    assert exact_values is not None
    forward = losses_at(bits, wx, wrec)
    settled = settle(stats, bits, wx, wrec)
    edge = ~((np.abs(exact_values) >= TINY) & (np.abs(exact_values) <= stats.safe_max))
    edge &= exact_values != 0
    assert 0 < edge.sum() < edge.size
    np.testing.assert_array_equal(settled[edge], forward[edge])
    np.testing.assert_array_equal(settled[~edge], exact_values[~edge])
    real = from_sequences([[0.5, 1.0], [0.25]])
    np.testing.assert_array_equal(
        settle(Statistics(real), real, wx, wrec), losses_at(real, wx, wrec)
    )
