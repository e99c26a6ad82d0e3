"""core.fastpath.moments: the one pass over the data, against plain integer and exact sums."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

import core.fastpath.moments
from core.datasets import from_sequences, generate
from core.fastpath.moments import moments


@pytest.mark.parametrize("n", [37, 40_000])
def test_bits_with_integer_targets_are_summed_exactly(n: int) -> None:
    ds = generate(n, 9, seed=5)  # 40,000 rows: more than one block
    m = moments(ds)
    X = ds.inputs.astype(np.int64)
    t = ds.targets.astype(np.int64)
    e = X.sum(axis=1) - t
    assert m.exact
    np.testing.assert_array_equal(m.gram, X.T @ X)
    np.testing.assert_array_equal(m.c_t, X.T @ t)
    np.testing.assert_array_equal(m.col_sum, X.sum(axis=0))
    assert (m.t_sq, m.e_sq, m.e_sum, m.t_sum) == (t @ t, e @ e, e.sum(), t.sum())
    assert (m.t_abs_sum, m.e_abs_sum) == (np.abs(t).sum(), np.abs(e).sum())
    np.testing.assert_array_equal(m.c_e, 0.0)  # left for the caller: gram rows less c_t


def test_blocks_do_not_change_the_sums(monkeypatch: pytest.MonkeyPatch) -> None:
    ds = from_sequences([[0.5, -1.0, 2.0], [0.25], [1.5, 1.5]] * 7, [1.0, -2.0, 0.5] * 7)
    whole = moments(ds)
    monkeypatch.setattr(core.fastpath.moments, "_BLOCK_ROWS", 4)
    blocked = moments(ds)
    np.testing.assert_allclose(blocked.gram, whole.gram, rtol=1e-15)
    np.testing.assert_allclose(blocked.c_e, whole.c_e, rtol=1e-15)
    assert blocked.e_sq == pytest.approx(whole.e_sq, rel=1e-15)


def test_real_data_moments_and_compensated_residuals() -> None:
    rows = [[0.1, 0.2, 0.3], [1e16, 1.0, -1e16]]
    targets = [0.6, 1.0]
    m = moments(from_sequences(rows, targets))
    assert not m.exact
    # e = sum(x) - t, exactly: 0.1 + 0.2 + 0.3 - 0.6 and 1e16 + 1 - 1e16 - 1 cancel.
    e = [float(sum(map(Fraction, r)) - Fraction(t)) for r, t in zip(rows, targets, strict=True)]
    assert m.e_sum == math.fsum(e)
    assert m.e_sq == pytest.approx(sum(v * v for v in e), rel=1e-15)
    X = np.array(rows)
    np.testing.assert_allclose(m.gram, X.T @ X, rtol=1e-15)
    np.testing.assert_allclose(m.c_t, X.T @ np.array(targets), rtol=1e-15)
    np.testing.assert_allclose(m.c_e, X.T @ np.array(e), rtol=1e-15, atol=1e-300)


def test_large_integer_targets_leave_the_float32_path() -> None:
    ds = generate(20, 5, seed=1)
    big = from_sequences(ds.sequences(), (ds.targets * 1e6).tolist())
    assert moments(ds).exact
    assert not moments(big).exact


def test_long_rows_are_blocked_by_elements_and_sum_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ds = generate(50, 300, seed=4)
    rng = np.random.default_rng(4)
    real = from_sequences(rng.normal(size=(50, 300)).tolist(), rng.normal(size=50).tolist())
    whole_bits, whole_real = moments(ds), moments(real)
    monkeypatch.setattr(core.fastpath.moments, "_BLOCK_ELEMENTS", 7 * 300)  # 7 rows a block
    bits, reals = moments(ds), moments(real)
    np.testing.assert_array_equal(bits.gram, whole_bits.gram)  # integers: exact either way
    assert bits.exact
    # Reals: the same sums in another grouping, off by rounding of the largest terms only.
    scale = float(np.abs(whole_real.gram).max())
    np.testing.assert_allclose(reals.gram, whole_real.gram, rtol=0, atol=1e-13 * scale)
    np.testing.assert_allclose(reals.c_e, whole_real.c_e, rtol=1e-12, atol=1e-12)
    # The compensated residuals, read time-major, are each row's exact sum less its target.
    X = np.asarray(real.inputs)
    e = [
        float(sum(map(Fraction, row.tolist())) - Fraction(float(t)))
        for row, t in zip(X, real.targets, strict=True)
    ]
    assert reals.e_sum == pytest.approx(math.fsum(e), rel=1e-15)
    assert reals.e_sq == pytest.approx(sum(v * v for v in e), rel=1e-14)


def test_long_bits_with_large_integer_targets_stay_exact() -> None:
    """Long rows make short blocks, so larger targets still keep every block's sums below
    2**24: the float32 path (and the exact loss) stays available."""
    ds = generate(6, 2000, seed=2)
    big = from_sequences(ds.sequences(), [3000.0, -2500.0, 17.0, 0.0, 1.0, 2999.0])
    m = moments(big)
    assert m.exact
    X = big.inputs.astype(np.int64)
    t = big.targets.astype(np.int64)
    np.testing.assert_array_equal(m.gram, X.T @ X)
    np.testing.assert_array_equal(m.c_t, X.T @ t)
    assert m.t_sq == t @ t


def test_the_gram_matrix_made_a_panel_at_a_time_is_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ds = generate(70, min_length=1, max_length=23, seed=9)
    whole = moments(ds)
    monkeypatch.setattr(core.fastpath.moments, "_PANEL", 5)  # 5 rows of X^T X a product
    panels = moments(ds)
    np.testing.assert_array_equal(panels.gram, whole.gram)
    X = ds.inputs.astype(np.int64)
    np.testing.assert_array_equal(panels.gram, X.T @ X)
