"""core.gradcheck: the tutorial's gradient check and its failure modes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.bptt import gradient
from core.datasets import tutorial_dataset
from core.errors import InvalidInputError
from core.gradcheck import check_gradient, numerical_gradient
from core.model import loss


def test_the_tutorials_check_passes_at_1_2_1_2() -> None:
    ds = tutorial_dataset()
    check = check_gradient(ds, 1.2, 1.2, 1e-7)
    assert check.ok
    g = gradient(ds, 1.2, 1.2)
    assert check.analytic == (g.wx, g.wrec)
    assert np.isclose(check.numeric[0], check.analytic[0])
    assert np.isclose(check.numeric[1], check.analytic[1])
    assert check.max_rel_error < 1e-6


def test_numerical_gradient_is_the_central_difference_of_the_loss() -> None:
    ds = tutorial_dataset()
    eps = 1e-4
    d_wx, d_wrec = numerical_gradient(ds, 0.7, 1.1, eps)
    assert d_wx == (loss(ds, 0.7 + eps, 1.1) - loss(ds, 0.7 - eps, 1.1)) / (2 * eps)
    assert d_wrec == (loss(ds, 0.7, 1.1 + eps) - loss(ds, 0.7, 1.1 - eps)) / (2 * eps)


def test_an_absurd_step_fails_the_check() -> None:
    # The loss is a polynomial of degree 18 in wrec: eps = 1 is nowhere near the tangent.
    check = check_gradient(tutorial_dataset(), 1.0, 2.0, eps=1.0)
    assert not check.ok
    # In wx the loss is quadratic, so even eps = 1 gets that component right.
    assert check.numeric[0] == pytest.approx(check.analytic[0], rel=1e-12)
    assert not np.isclose(check.numeric[1], check.analytic[1])
    assert check.max_rel_error > 0.1
    assert check.max_abs_error == pytest.approx(abs(check.numeric[1] - check.analytic[1]))


def test_errors_are_reported_consistently() -> None:
    check = check_gradient(tutorial_dataset(), 0.5, 1.5, eps=1e-3)
    a, n = np.asarray(check.analytic), np.asarray(check.numeric)
    assert check.max_abs_error == pytest.approx(float(np.max(np.abs(a - n))), rel=1e-12)
    rel = np.abs(a - n) / np.maximum(np.abs(a), np.abs(n))
    assert check.max_rel_error == pytest.approx(float(np.max(rel)), rel=1e-12)
    assert check.ok == bool(np.isclose(n, a).all())


def test_tolerances_are_the_callers_to_set() -> None:
    ds = tutorial_dataset()
    assert not check_gradient(ds, 1.0, 2.0, eps=1e-2, rtol=1e-12, atol=0.0).ok
    assert check_gradient(ds, 1.0, 2.0, eps=1e-2, rtol=1.0, atol=0.0).ok


def test_the_optimum_checks_with_exact_zeros() -> None:
    check = check_gradient(tutorial_dataset(), 1.0, 1.0)
    assert check.analytic == (0.0, 0.0)
    assert check.ok
    assert check.max_rel_error <= 1.0  # no 0/0 nan


@pytest.mark.parametrize("eps", [0.0, -1e-7, float("nan"), float("inf"), -float("inf")])
def test_a_non_positive_or_non_finite_step_is_rejected(eps: float) -> None:
    with pytest.raises(InvalidInputError) as info:
        check_gradient(tutorial_dataset(), 1.2, 1.2, eps)
    assert info.value.field == "eps"


def test_overflow_is_reported_not_raised() -> None:
    check = check_gradient(tutorial_dataset(), 1.0, 1e200, eps=1.0)
    assert not check.ok
    assert not all(math.isfinite(v) for v in (*check.analytic, *check.numeric))
