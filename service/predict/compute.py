"""What POST /predict answers: each sequence's output and the count it rounds to.

A count is sent as a JSON integer only while it is exact for every client: beyond 2**53
(JavaScript's safe integers) it is null like an overflowed one, and its output, a float,
still says how large it is.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from core.predict import counts, predict
from service.datasets.schemas import MAX_SAFE_INTEGER

__all__ = ["predict_payload"]


def predict_payload(sequences: list[NDArray[np.float64]], wx: float, wrec: float) -> dict[str, Any]:
    """The response body (blocking: runs in a worker thread)."""
    y = predict(sequences, wx, wrec)
    exact = [c if c is not None and abs(c) <= MAX_SAFE_INTEGER else None for c in counts(y)]
    return {
        "outputs": np.ascontiguousarray(y, dtype=np.float64),
        "counts": exact,
        "weights": {"wx": wx, "wrec": wrec},
        "overflow": not bool(np.isfinite(y).all()),
    }
