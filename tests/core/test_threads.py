"""core.threads: BLAS thread counts set deliberately, and given back."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import InvalidInputError
from core.threads import blas_threads, current_blas_threads, limit_blas_threads


def _blas_loaded() -> int:
    np.ones((4, 4)) @ np.ones((4, 4))  # numpy's BLAS is loaded with numpy; make sure
    count = current_blas_threads()
    if count is None:
        pytest.skip("no BLAS library that threadpoolctl can see")
    return count


def test_blas_threads_limits_within_the_block_and_restores_after() -> None:
    before = _blas_loaded()
    with blas_threads(1):
        assert current_blas_threads() == 1
        a = np.arange(16.0).reshape(4, 4)
        np.testing.assert_array_equal(a @ np.eye(4), a)  # products still work
    assert current_blas_threads() == before


def test_limit_blas_threads_stays_until_changed() -> None:
    before = _blas_loaded()
    try:
        limit_blas_threads(1)
        assert current_blas_threads() == 1
    finally:
        limit_blas_threads(before)
    assert current_blas_threads() == before


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "2"])
def test_a_count_below_one_or_not_an_integer_is_refused(bad: object) -> None:
    with pytest.raises(InvalidInputError, match="threads"), blas_threads(bad):  # type: ignore[arg-type]
        pass
    with pytest.raises(InvalidInputError, match="threads"):
        limit_blas_threads(bad)  # type: ignore[arg-type]
