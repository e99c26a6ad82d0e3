"""Prediction: the trained RNN's output (the count it estimates) for sequences of any length."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from core.datasets import Dataset, pad_sequences
from core.model import outputs

__all__ = ["counts", "predict"]


def predict(
    sequences: Sequence[Sequence[float] | NDArray[np.float64]], wx: float, wrec: float
) -> NDArray[np.float64]:
    """Final state of each sequence; inf/nan where float64 overflowed. Needs no targets."""
    inputs, lengths = pad_sequences(sequences)
    return outputs(Dataset(inputs, lengths, np.zeros(len(lengths))), wx, wrec)


def counts(predictions: NDArray[np.float64]) -> list[int | None]:
    """Outputs rounded to the nearest integer (the count), None where not finite."""
    with np.errstate(invalid="ignore"):
        rounded = np.rint(predictions)
    return [int(v) if np.isfinite(v) and abs(v) < 2**63 else None for v in rounded.tolist()]
