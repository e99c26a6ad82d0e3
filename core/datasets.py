"""Datasets of sequences: generated (deterministic from a seed) or built from given rows.

Sequences of different lengths share one array, left-padded with zeros: a leading zero
leaves the final state of the linear RNN unchanged (s = 0 * wrec + 0 * wx = 0), so the
padding is exact. Binary inputs are kept as uint8 (one byte per step, not eight).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from core.cancel import checkpoint
from core.errors import InvalidInputError

__all__ = [
    "GENERATORS",
    "Dataset",
    "from_sequences",
    "generate",
    "pad_sequences",
    "tutorial_dataset",
]

Generator = Literal["pcg64", "legacy"]
GENERATORS: tuple[Generator, ...] = ("pcg64", "legacy")

# Rows drawn per chunk while generating: bounds the float64 scratch to ~8 MB x width/100.
_CHUNK_ROWS = 1 << 14


@dataclass(frozen=True, eq=False)
class Dataset:
    """Left-padded inputs (n x width), true lengths and targets of n sequences."""

    inputs: NDArray[np.uint8] | NDArray[np.float64]
    lengths: NDArray[np.int64]
    targets: NDArray[np.float64]

    @property
    def n_samples(self) -> int:
        return int(self.inputs.shape[0])

    @property
    def width(self) -> int:
        """Number of timesteps of the padded array (the longest sequence)."""
        return int(self.inputs.shape[1])

    @property
    def min_length(self) -> int:
        return int(self.lengths.min())

    @property
    def max_length(self) -> int:
        return int(self.lengths.max())

    @property
    def is_binary(self) -> bool:
        return self.inputs.dtype == np.uint8

    def sequences(self) -> list[list[float]]:
        """The rows without their padding, as plain Python lists."""
        return [
            row[self.width - length :].tolist()
            for row, length in zip(self.inputs, self.lengths.tolist(), strict=True)
        ]

    def chunks(
        self, rows: int = _CHUNK_ROWS
    ) -> Iterator[tuple[NDArray[np.float64], NDArray[np.float64]]]:
        """(inputs as float64, targets) in blocks of ``rows``, so big datasets never widen whole."""
        for start in range(0, self.n_samples, rows):
            stop = start + rows
            yield self.inputs[start:stop].astype(np.float64), self.targets[start:stop]


def generate(
    n_samples: int,
    length: int | None = None,
    *,
    min_length: int | None = None,
    max_length: int | None = None,
    seed: int = 0,
    p_one: float = 0.5,
    generator: str = "pcg64",
) -> Dataset:
    """Random binary sequences whose targets are their counts of ones.

    ``generator="pcg64"`` uses NumPy's modern Generator: x = u < p_one.
    ``generator="legacy"`` replays the tutorial: the MT19937 stream of ``np.random.seed(seed)``
    (a private RandomState, so global state is untouched), one ``rand(length)`` per row,
    rounded half to even, which for p_one = 0.5 is x = u > 0.5; in general x = u > 1 - p_one.
    Variable lengths draw all lengths first, then the rows in order; the same spec gives the
    same dataset whatever the chunking.
    """
    lengths = _check_spec(n_samples, length, min_length, max_length, seed, p_one, generator)
    stream = _BitStream(generator, seed, p_one)
    if lengths is None:
        lengths = stream.lengths(min_length or 1, max_length or 1, n_samples)
    width = int(lengths.max())
    inputs = np.zeros((n_samples, width), dtype=np.uint8)
    for start in range(0, n_samples, _CHUNK_ROWS):
        checkpoint()
        block = inputs[start : start + _CHUNK_ROWS]
        block_lengths = lengths[start : start + _CHUNK_ROWS]
        if int(block_lengths.min()) == width:
            block[:] = stream.bits(block.shape)
        else:  # draws fill each row's steps in order, after its padding
            steps = np.arange(width) >= (width - block_lengths)[:, None]
            block[steps] = stream.bits((int(block_lengths.sum()),))
    targets = inputs.sum(axis=1, dtype=np.int64).astype(np.float64)
    return Dataset(inputs, lengths, targets)


class _BitStream:
    """The random draws of one generation spec, in the order the spec defines."""

    def __init__(self, generator: str, seed: int, p_one: float) -> None:
        self._legacy = generator == "legacy"
        self._p_one = p_one
        if self._legacy:
            self._rs = np.random.RandomState(seed)
        else:
            self._rng = np.random.default_rng(seed)

    def lengths(self, low: int, high: int, n: int) -> NDArray[np.int64]:
        if self._legacy:
            return self._rs.randint(low, high + 1, size=n).astype(np.int64)
        return self._rng.integers(low, high + 1, size=n, dtype=np.int64)

    def bits(self, shape: tuple[int, ...]) -> NDArray[np.bool_]:
        if self._legacy:
            return self._rs.random_sample(shape) > 1.0 - self._p_one
        return self._rng.random(shape) < self._p_one


def tutorial_dataset() -> Dataset:
    """The tutorial's 20 sequences of 10 bits (targets 2 4 6 6 4 4 6 5 7 5 7 6 4 7 3 6 4 5 6 6)."""
    return generate(20, 10, seed=1, generator="legacy")


def from_sequences(
    sequences: Sequence[Sequence[float] | NDArray[np.float64]],
    targets: Sequence[float] | NDArray[np.float64] | None = None,
) -> Dataset:
    """A dataset of given rows (ragged, finite reals); targets default to each row's sum."""
    values, lengths = pad_sequences(sequences)
    if targets is None:
        # Correctly rounded sums, whatever the row's padding.
        target_values = np.empty(len(sequences))
        for i, row in enumerate(sequences):
            try:
                target_values[i] = math.fsum(row)
            except OverflowError:
                raise InvalidInputError(
                    f"sequences[{i}]", "its sum overflows float64: give its target explicitly"
                ) from None
    else:
        if len(targets) != len(sequences):
            raise InvalidInputError(
                "targets", f"has {len(targets)} values for {len(sequences)} sequences"
            )
        target_values = np.asarray(targets, dtype=np.float64)
        if not np.isfinite(target_values).all():
            i = int(np.argmin(np.isfinite(target_values)))
            raise InvalidInputError(f"targets[{i}]", "must be a finite number")
    binary = bool(np.isin(values, (0.0, 1.0)).all())
    inputs: NDArray[np.uint8] | NDArray[np.float64] = values.astype(np.uint8) if binary else values
    return Dataset(inputs, lengths, target_values)


def pad_sequences(
    sequences: Sequence[Sequence[float] | NDArray[np.float64]],
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Ragged rows of finite reals as one left-padded array, and their lengths."""
    if len(sequences) == 0:
        raise InvalidInputError("sequences", "at least one sequence is required")
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    if int(lengths.min()) == 0:
        raise InvalidInputError(
            f"sequences[{int(np.argmin(lengths))}]", "a sequence needs at least one step"
        )
    width = int(lengths.max())
    values = np.zeros((len(sequences), width), dtype=np.float64)
    for i, row in enumerate(sequences):
        values[i, width - len(row) :] = row
    bad = ~np.isfinite(values)
    if bad.any():
        i, k = (int(v) for v in np.argwhere(bad)[0])
        raise InvalidInputError(
            f"sequences[{i}][{k - (width - int(lengths[i]))}]", "must be a finite number"
        )
    return values, lengths


def _check_spec(
    n_samples: int,
    length: int | None,
    min_length: int | None,
    max_length: int | None,
    seed: int,
    p_one: float,
    generator: str,
) -> NDArray[np.int64] | None:
    """Validate a generation spec; return the lengths when they are all equal, else None."""
    if n_samples < 1:
        raise InvalidInputError("n_samples", f"must be >= 1, got {n_samples}")
    if seed < 0:
        raise InvalidInputError("seed", f"must be >= 0, got {seed}")
    if generator not in GENERATORS:
        raise InvalidInputError("generator", f"must be one of {GENERATORS}, got {generator!r}")
    if generator == "legacy" and seed >= 2**32:
        raise InvalidInputError("seed", f"the legacy generator takes seeds < 2**32, got {seed}")
    if not 0.0 < p_one < 1.0:
        raise InvalidInputError("p_one", f"must be in (0, 1), got {p_one}")
    if length is not None:
        if min_length is not None or max_length is not None:
            raise InvalidInputError("length", "give either length or min_length/max_length")
        if length < 1:
            raise InvalidInputError("length", f"must be >= 1, got {length}")
        return np.full(n_samples, length, dtype=np.int64)
    if min_length is None or max_length is None:
        raise InvalidInputError("length", "give length, or both min_length and max_length")
    if min_length < 1:
        raise InvalidInputError("min_length", f"must be >= 1, got {min_length}")
    if max_length < min_length:
        raise InvalidInputError(
            "max_length", f"must be >= min_length ({min_length}), got {max_length}"
        )
    return None
