"""core.fastpath.statistics: the coefficient polynomials are the means they stand for."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from core.datasets import from_sequences, generate, tutorial_dataset
from core.fastpath.statistics import P1, PE, PP, PQ, PT, Q1, QE, QQ, RE, RP, RQ, RT, Statistics

ROWS = [[1.0, 0.0, 1.0, 1.0], [0.5, -2.0], [0.0, 0.0, 3.0], [1.5]]
TARGETS = [2.0, -1.0, 0.25, 4.0]


def _means_at(r: Fraction) -> dict[int, Fraction]:
    """Each column's mean product over the sequences, exactly, straight from its definition."""
    n = len(ROWS)
    sums = dict.fromkeys((PP, QQ, PQ, PE, QE, RP, RQ, RE, P1, Q1, PT, RT), Fraction(0))
    for row, t in zip(ROWS, TARGETS, strict=True):
        c = [Fraction(x) for x in reversed(row)]  # c_j multiplies r^j: input x_{T-j}
        P = sum((cj * r**j for j, cj in enumerate(c)), Fraction(0))
        P_at_1 = sum(c, Fraction(0))
        Q = (P - P_at_1) / (r - 1)
        R = sum((j * cj * r ** (j - 1) for j, cj in enumerate(c) if j), Fraction(0))
        e, tt = P_at_1 - Fraction(t), Fraction(t)
        for column, value in (
            (PP, P * P), (QQ, Q * Q), (PQ, P * Q), (PE, P * e), (QE, Q * e), (RP, R * P),
            (RQ, R * Q), (RE, R * e), (P1, P), (Q1, Q), (PT, P * tt), (RT, R * tt),
        ):  # fmt: skip
            sums[column] += value
    return {column: total / n for column, total in sums.items()}


@pytest.mark.parametrize("r", [0.5, -0.75, 0.0, 2.0, -3.0, 1.25])
def test_columns_are_the_mean_products_they_stand_for(r: float) -> None:
    stats = Statistics(from_sequences(ROWS, TARGETS))
    values, magnitudes, log2_scale = stats.polynomials(np.array([r]))
    expected = _means_at(Fraction(r))
    divisor = max(Fraction(1), abs(Fraction(r))) ** (2 * stats.width - 2)
    for column, mean in expected.items():
        assert float(values[0, column]) == pytest.approx(
            float(mean / divisor), rel=1e-13, abs=1e-15
        )
        assert magnitudes[0, column] >= abs(values[0, column]) * (1 - 1e-15)
    assert float(log2_scale[0]) == pytest.approx(float(np.log2(float(divisor))), rel=1e-14)


def test_one_point_gives_the_arrays_values() -> None:
    stats = Statistics(generate(40, min_length=2, max_length=9, seed=8))
    for r in (0.3, -0.9, 1.0, 1.7, -2.5):
        at = stats.polynomials_at(r)
        assert at is not None
        values, magnitudes, scale = at
        array_values, array_magnitudes, log2_scale = stats.polynomials(np.array([r]))
        # The same polynomials; only the matrix products' summation order may differ.
        np.testing.assert_allclose(values, array_values[0], rtol=1e-14, atol=1e-300)
        np.testing.assert_allclose(magnitudes, array_magnitudes[0], rtol=1e-14, atol=1e-300)
        assert scale == pytest.approx(float(np.exp2(log2_scale[0])), rel=1e-13)


def test_a_divisor_beyond_float64_is_no_answer_for_one_point() -> None:
    stats = Statistics(tutorial_dataset())
    assert stats.polynomials_at(1e40) is None
    values, _, log2_scale = stats.polynomials(np.array([1e40]))
    assert np.isfinite(values).all()  # the arrays' form keeps the divisor as a log
    assert float(log2_scale[0]) == pytest.approx(18 * np.log2(1e40), rel=1e-14)


def test_error_scales_reflect_the_data() -> None:
    bits, real = Statistics(tutorial_dataset()), Statistics(from_sequences(ROWS, TARGETS))
    assert bits.exact is not None  # integer sums: exact loss available, no data error
    assert real.exact is None
    eps = float(np.finfo(np.float64).eps)
    assert bits.gamma == (4 * 10 + 32) * eps  # rounding of an evaluation of 2T - 1 terms
    assert real.gamma == (4 * 4 + 32 + 8 * np.sqrt(4)) * eps  # and of the data's own sums
    assert bits.safe_max == pytest.approx(np.finfo(np.float64).max / (8 * 20 * 11))
