"""When the fast path vouches for a value: its rounding bound is below RTOL of it.

Every fast value comes with a bound on its rounding error. A value is vouched for when
the bound is below ``RTOL`` of the value and the value is clear of float64's edges: above
``TINY`` (below it, underflow's absolute errors of ~5e-324 could exceed RTOL of it) and
below the caller's ``safe_max`` (above it, BPTT's own sums may overflow where ours did
not). Callers take values that are not vouched for from the reference path.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["RTOL", "TINY", "scalar_vouched", "vouched"]

RTOL = 1e-10
TINY = 1e-290


def vouched(
    value: NDArray[np.float64], bound: NDArray[np.float64], safe_max: float
) -> NDArray[np.bool_]:
    """Whether each value is within RTOL of exact and clear of overflow and underflow.

    An exact zero with a zero bound (the optimum of exact data) is vouched for too.
    """
    magnitude = np.abs(value)
    normal = (magnitude >= TINY) & (magnitude <= safe_max) & (bound <= RTOL * magnitude)
    return np.asarray(normal | ((magnitude == 0) & (bound == 0)))


def scalar_vouched(value: float, bound: float, rtol: float, safe_max: float) -> bool:
    """``vouched`` for one float, with the caller's tolerance (the training loop's hot path)."""
    magnitude = abs(value)
    if magnitude == 0.0:
        return bound == 0.0
    return TINY <= magnitude <= safe_max and bound <= rtol * magnitude
