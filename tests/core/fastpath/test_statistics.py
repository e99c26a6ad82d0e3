"""core.fastpath.statistics: the coefficient polynomials are the means they stand for."""

from __future__ import annotations

import importlib
from fractions import Fraction

import numpy as np
import pytest

from core.datasets import from_sequences, generate, tutorial_dataset
from core.fastpath.moments import moments
from core.fastpath.statistics import (
    P1,
    PE,
    PP,
    PQ,
    PT,
    Q1,
    QE,
    QQ,
    RE,
    RP,
    RQ,
    RT,
    Statistics,
    antidiagonal_sums,
)

statistics_module = importlib.import_module("core.fastpath.statistics")

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


# --- the coefficient table in O(T^2), against its definition ---------------------------------


def _integer_sums(rows: list[list[int]], targets: list[int]) -> dict[int, list[int]]:
    """Each column's sum over sequences by power of r, in Python integers: the polynomials
    multiplied out coefficient by coefficient (Q: suffix sums of c, R: (j + 1) c_{j+1})."""
    T = max(len(row) for row in rows)
    sums = {
        column: [0] * (2 * T - 1) for column in (PP, QQ, PQ, PE, QE, RP, RQ, RE, P1, Q1, PT, RT)
    }
    for row, t in zip(rows, targets, strict=True):
        c = list(reversed(row)) + [0] * (T - len(row))  # c_j multiplies r^j
        q = [sum(c[j + 1 :]) for j in range(T)]
        r = [(j + 1) * c[j + 1] for j in range(T - 1)] + [0]
        e = sum(c) - t
        for column, a, b in ((PP, c, c), (QQ, q, q), (PQ, c, q), (RP, r, c), (RQ, r, q)):
            for i, ai in enumerate(a):
                for j, bj in enumerate(b):
                    sums[column][i + j] += ai * bj
        for column, poly, factor in (
            (PE, c, e), (QE, q, e), (RE, r, e), (P1, c, 1), (Q1, q, 1), (PT, c, t), (RT, r, t),
        ):  # fmt: skip
            for j, value in enumerate(poly):
                sums[column][j] += value * factor
    return sums


def test_bits_give_every_coefficient_exactly() -> None:
    """With bits and integer targets each coefficient is its exact mean, correctly rounded."""
    ds = generate(23, min_length=1, max_length=37, seed=12)
    rows = [[int(x) for x in row] for row in ds.sequences()]
    targets = [int(t) for t in ds.targets]
    stats = Statistics(ds)
    assert stats.exact is not None
    expected = _integer_sums(rows, targets)
    for column, sums in expected.items():
        means = [float(Fraction(s, ds.n_samples)) for s in sums]
        assert stats.coefficients[:, column].tolist() == means, column
    assert stats.exact.a == expected[PP]


@pytest.mark.parametrize("width", [1, 2, 3, 40, 257])
@pytest.mark.parametrize("scratch", [None, 5 * 257, 5])
def test_the_integer_division_and_the_suffix_sums_give_the_same_table(
    width: int, scratch: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bits take exact polynomial division; reals the Gram matrix's suffix sums, a few rows
    at a time (``scratch``: 1 row a chunk, or all): the two derivations agree exactly."""
    if scratch is not None:
        monkeypatch.setattr(statistics_module, "_SCRATCH_ELEMENTS", scratch)
    ds = generate(31, min_length=1, max_length=width, seed=width)
    gram = moments(ds).gram[::-1, ::-1].astype(np.int64)
    by_division = statistics_module._exact_cross_sums(gram)
    by_suffix_sums = statistics_module._cross_sums(gram)
    np.testing.assert_array_equal(
        by_division[:, : 2 * width - 1], by_suffix_sums[:, : 2 * width - 1]
    )


@pytest.mark.parametrize("scratch", [None, 5 * 120 * 3, 5])
def test_real_data_coefficients_match_their_definition_at_long_t(
    scratch: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if scratch is not None:  # the table a few rows at a time: 3 rows, or 1
        monkeypatch.setattr(statistics_module, "_SCRATCH_ELEMENTS", scratch)
    rng = np.random.default_rng(3)
    rows = rng.normal(size=(6, 120)).round(3).tolist()
    targets = rng.normal(size=6).tolist()
    stats = Statistics(from_sequences(rows, targets))
    r = Fraction(0.97)
    # The polynomial values at r (scaled by 1 here, since |r| < 1) against exact means.
    values, _, _ = stats.polynomials(np.array([0.97]))
    n = len(rows)
    for column in (PP, QQ, PQ, RP, RQ, QE):
        exact = Fraction(0)
        for row, t in zip(rows, targets, strict=True):
            c = [Fraction(x) for x in reversed(row)]
            p = sum((cj * r**j for j, cj in enumerate(c)), Fraction(0))
            q = (p - sum(c, Fraction(0))) / (r - 1)
            d = sum((j * cj * r ** (j - 1) for j, cj in enumerate(c) if j), Fraction(0))
            e = sum(c, Fraction(0)) - Fraction(t)
            exact += {PP: p * p, QQ: q * q, PQ: p * q, RP: d * p, RQ: d * q, QE: q * e}[column]
        assert float(values[0, column]) == pytest.approx(float(exact / n), rel=1e-11), column


def test_antidiagonal_sums_are_a_polynomial_products_coefficients() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.integers(-9, 9, size=17), rng.integers(-9, 9, size=17)
    np.testing.assert_array_equal(antidiagonal_sums(np.outer(a, b)), np.convolve(a, b))
