"""When the fast path vouches for a value: its rounding bound is below RTOL of it.

Every fast value comes with a bound on its rounding error, underflow included. A value
is vouched for when the bound is below ``RTOL`` of the value and the value is clear of
float64's edges: above ``TINY`` and below the caller's ``safe_max`` (above it, BPTT's own
sums may overflow where ours did not). A zero is vouched for only where it is exact by
construction: every term of it has an exactly zero factor, so no product underflowed to
make it. Callers take values that are not vouched for from the reference path.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["RTOL", "TINY", "UNDERFLOW", "exact_zero", "scalar_vouched", "vouched"]

RTOL = 1e-10
TINY = 1e-290
# The smallest subnormal: a product that underflows is off by up to half of it, absolutely,
# and the factors applied after it (polynomial values, weights, the scale) magnify that.
UNDERFLOW = 2.0**-1074


def vouched(
    value: NDArray[np.float64], bound: NDArray[np.float64], safe_max: float
) -> NDArray[np.bool_]:
    """Whether each non-zero value is within RTOL of exact and clear of float64's edges."""
    magnitude = np.abs(value)
    return np.asarray((magnitude >= TINY) & (magnitude <= safe_max) & (bound <= RTOL * magnitude))


def scalar_vouched(value: float, bound: float, rtol: float, safe_max: float) -> bool:
    """``vouched`` for one float, with the caller's tolerance (the training loop's hot path)."""
    magnitude = abs(value)
    return TINY <= magnitude <= safe_max and bound <= rtol * magnitude


def exact_zero(value: NDArray[np.float64], support: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Zeros whose ``support`` (how many terms have no exactly zero factor) is 0."""
    return np.asarray((value == 0) & (support == 0))
