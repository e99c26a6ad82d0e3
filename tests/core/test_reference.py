"""tests.core._reference: the tutorial's facts, recomputed exactly from its dataset.

The tests rely on these numbers; here they are derived with Fractions from the dataset
drawn as the tutorial draws it, without any of core's numerics.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from tests.core._reference import (
    RPROP_END,
    RPROP_ITERATIONS,
    RPROP_PRINTED,
    RPROP_START,
    TEST_OUTPUT,
    TEST_PRINTED,
    TEST_SEQUENCE,
    TEST_TARGET,
    TRACE_AT_1_2,
    TUTORIAL_TARGETS,
    TUTORIAL_VALUES,
    exact,
    tutorial_rows,
    tutorial_rprop,
)

ROWS = tutorial_rows()
TARGETS = [sum(row) for row in ROWS]


def test_targets_are_the_row_sums_of_the_tutorials_draw() -> None:
    assert len(ROWS) == 20
    assert {len(row) for row in ROWS} == {10}
    assert tuple(int(t) for t in TARGETS) == TUTORIAL_TARGETS
    assert sum(TUTORIAL_TARGETS) == 103


@pytest.mark.parametrize(("point", "values"), TUTORIAL_VALUES.items())
def test_values_are_exact_decimals(
    point: tuple[float, float], values: tuple[float, float, float]
) -> None:
    e = exact(ROWS, TARGETS, *point)
    assert tuple(Fraction(str(v)) for v in values) == (e.loss, e.grad_wx, e.grad_wrec)


def test_trace_at_1_2() -> None:
    # dξ/dS_k summed over sequences is 2 mean(y - t) wrec^(n - k).
    e = exact(ROWS, TARGETS, 1.0, 2.0)
    assert Fraction(str(TRACE_AT_1_2[0])) == 2 * e.mean_residual
    assert Fraction(str(TRACE_AT_1_2[1])) == 2 * e.mean_residual * 2**10


def test_the_rprop_run_with_exact_gradients_ends_at_rprop_end() -> None:
    def exact_gradient(wx: float, wrec: float) -> tuple[float, float]:
        e = exact(ROWS, TARGETS, wx, wrec)
        return float(e.grad_wx), float(e.grad_wrec)

    path = tutorial_rprop(exact_gradient, list(RPROP_START), RPROP_ITERATIONS)
    assert path[-1] == RPROP_END
    assert f"wx = {RPROP_END[0]:.4f},  wRec = {RPROP_END[1]:.4f}" == RPROP_PRINTED


def test_the_trained_model_on_the_test_sequence() -> None:
    wx, wrec = (Fraction(w) for w in RPROP_END)
    n = len(TEST_SEQUENCE)
    y = sum(wx * wrec ** (n - 1 - k) for k, x in enumerate(TEST_SEQUENCE) if x)
    assert sum(TEST_SEQUENCE) == TEST_TARGET
    assert round(float(y), 5) == TEST_OUTPUT
    assert f"Target output: {TEST_TARGET} vs Model output: {float(y):.2f}" == TEST_PRINTED
