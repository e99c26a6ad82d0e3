"""core.predict: the trained RNN counting ones in sequences it has never seen."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from core.datasets import tutorial_dataset
from core.errors import InvalidInputError
from core.optimizers import make_optimizer
from core.predict import counts, predict
from core.training import train
from tests.core._reference import RPROP_END, TEST_OUTPUT, TEST_PRINTED, TEST_SEQUENCE, TEST_TARGET


def test_the_tutorials_test_sequence_counts_five() -> None:
    trained = train(tutorial_dataset(), make_optimizer("rprop"))
    y = predict([TEST_SEQUENCE], trained.wx, trained.wrec)
    assert y.shape == (1,)
    assert y[0] == pytest.approx(TEST_OUTPUT, abs=5e-6)
    assert f"Target output: {TEST_TARGET} vs Model output: {y[0]:.2f}" == TEST_PRINTED
    assert counts(y) == [TEST_TARGET]


def test_prediction_is_the_final_state_exactly() -> None:
    wx, wrec = RPROP_END
    y = float(predict([TEST_SEQUENCE], wx, wrec)[0])
    exact = sum(
        Fraction(wx) * Fraction(wrec) ** (len(TEST_SEQUENCE) - 1 - k)
        for k, x in enumerate(TEST_SEQUENCE)
        if x
    )
    assert y == pytest.approx(float(exact), rel=1e-14)


def test_ragged_sequences_longer_than_training() -> None:
    sequences = [[1], [1] * 40, [0, 1], [1, 0, 1, 1, 0] * 7, [0] * 30]
    y = predict(sequences, 1.0, 1.0)
    np.testing.assert_array_equal(y, [1.0, 40.0, 1.0, 21.0, 0.0])
    assert counts(y) == [1, 40, 1, 21, 0]


def test_real_valued_inputs_are_weighted_sums() -> None:
    y = predict([[0.5, -2.0], [3.0]], 2.0, 0.5)
    np.testing.assert_allclose(y, [2.0 * (0.5 * 0.5 - 2.0), 6.0], rtol=1e-15)


def test_overflow_gives_inf_or_nan_and_no_count() -> None:
    y = predict([[1] * 400, [1, 1], [1e300, -1e300]], 1e10, 10.0)
    assert y[0] == np.inf
    assert y[1] == pytest.approx(1.1e11, rel=1e-15)
    assert np.isnan(y[2])  # inf - inf
    assert counts(y) == [None, 110_000_000_000, None]


def test_counts_round_half_to_even_to_python_ints() -> None:
    c = counts(np.array([2.5, 3.5, -0.4, 4.6, -2.5, 2.0**62, 2.0**64, -np.inf]))
    assert c == [2, 4, 0, 5, -2, 2**62, None, None]
    assert all(type(v) is int for v in c[:6])


@pytest.mark.parametrize(
    ("sequences", "field"),
    [([], "sequences"), ([[1], []], "sequences[1]"), ([[0, float("nan")]], "sequences[0][1]")],
)
def test_bad_sequences_are_rejected_naming_the_field(
    sequences: list[list[float]], field: str
) -> None:
    with pytest.raises(InvalidInputError) as info:
        predict(sequences, 1.0, 1.0)
    assert info.value.field == field
