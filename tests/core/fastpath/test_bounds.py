"""core.fastpath.bounds: a value is vouched for below RTOL, clear of float64's edges;
a zero only where it is exact by construction."""

from __future__ import annotations

import numpy as np
import pytest

from core.fastpath.bounds import RTOL, TINY, exact_zero, scalar_vouched, vouched

SAFE_MAX = 1e300

CASES = [
    # value, bound, vouched
    (1.0, 0.5 * RTOL, True),
    (1.0, RTOL, True),
    (1.0, 2 * RTOL, False),
    (-3.0, RTOL, True),  # relative to |value|
    (TINY, 0.0, True),
    (0.5 * TINY, 0.0, False),  # underflow's absolute errors could exceed RTOL of it
    (SAFE_MAX, 0.0, True),
    (2 * SAFE_MAX, 0.0, False),  # BPTT's sums might overflow
    (0.0, 0.0, False),  # zeros: exact_zero decides
    (np.inf, 0.0, False),
    (np.nan, 0.0, False),
    (1.0, np.nan, False),
]


@pytest.mark.parametrize(("value", "bound", "expected"), CASES)
def test_the_rule_for_arrays_and_for_one_value(value: float, bound: float, expected: bool) -> None:
    assert bool(vouched(np.array(value), np.array(bound), SAFE_MAX)) is expected
    assert scalar_vouched(value, bound, RTOL, SAFE_MAX) is expected


def test_arrays_are_decided_elementwise() -> None:
    values = np.array([[1.0, 0.0], [1e-300, 2.0]])
    bounds = np.array([[0.0, 0.0], [0.0, 1.0]])
    np.testing.assert_array_equal(
        vouched(values, bounds, SAFE_MAX), [[True, False], [False, False]]
    )


def test_one_value_takes_the_callers_tolerance() -> None:
    assert not scalar_vouched(1.0, 0.2, RTOL, SAFE_MAX)
    assert scalar_vouched(1.0, 0.2, 0.25, SAFE_MAX)


def test_a_zero_counts_only_where_no_term_can_be_non_zero() -> None:
    values = np.array([0.0, 0.0, 1e-300, 0.0])
    support = np.array([0.0, 2.0, 0.0, 0.0])  # terms with no exactly zero factor
    np.testing.assert_array_equal(exact_zero(values, support), [True, False, False, True])
