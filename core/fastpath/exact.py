"""The exact fallback: the loss in big-integer arithmetic, for bits with integer targets.

Where the float evaluation cannot vouch for a loss (long sequences in the valley, where
the residuals cancel), the same second moments give it exactly: n * loss is
wx^2 A(r) - 2 wx B(r) + C with integer coefficients, so O(T) big-integer operations per
point, whatever the number of sequences, instead of a forward pass over all the data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from core.cancel import checkpoint
from core.datasets import Dataset
from core.fastpath.bounds import TINY
from core.model import losses_at

__all__ = ["ExactLoss", "exact_losses", "settle"]

Array = NDArray[np.float64]


@dataclass(frozen=True)
class ExactLoss:
    """n * loss = wx^2 sum_m A_m r^m - 2 wx sum_j B_j r^j + C, with integer A, B, C."""

    a: list[int]  # sum_i P_i(r)^2 by power of r
    b: list[int]  # sum_i t_i P_i(r) by power of r
    c: int  # sum_i t_i^2
    n: int

    def loss(self, wx: float, wrec: float) -> float:
        """The loss at (wx, wrec), correctly rounded (inf beyond float64)."""
        checkpoint()  # each costs O(T) big-integer operations: long runs of them can stop
        w = Fraction(wx)
        total = w * w * _exact_polynomial(self.a, wrec) - 2 * w * _exact_polynomial(self.b, wrec)
        try:
            return float((total + self.c) / self.n)
        except OverflowError:
            return math.inf


class WithExactLoss(Protocol):
    """What the fallback reads of ``core.fastpath.statistics.Statistics`` (which builds an
    ``ExactLoss``; naming the class here would make the two modules import each other)."""

    @property
    def exact(self) -> ExactLoss | None: ...

    @property
    def safe_max(self) -> float: ...


def _exact_polynomial(coefficients: list[int], r: float) -> Fraction:
    """sum_m c_m r^m exactly: r = p / q, so it is sum_m c_m p^m q^(D - m) / q^D (Horner)."""
    p, q = r.as_integer_ratio()
    degree = len(coefficients) - 1
    total, q_power = coefficients[degree], 1
    for m in range(degree - 1, -1, -1):
        q_power *= q
        total = total * p + coefficients[m] * q_power
    return Fraction(total, q**degree)


def exact_losses(stats: WithExactLoss, wx: Array, wrec: Array) -> Array | None:
    """The loss at points (wx[p], wrec[p]) in exact arithmetic, correctly rounded.

    Only for bits with integer targets (else None); NaN at non-finite points.
    """
    if stats.exact is None:
        return None
    exact = stats.exact
    return np.array(
        [
            exact.loss(a, r) if math.isfinite(a) and math.isfinite(r) else math.nan
            for a, r in zip(wx.tolist(), wrec.tolist(), strict=True)
        ],
        dtype=np.float64,
    )


def settle(stats: WithExactLoss, dataset: Dataset, wx: Array, wrec: Array) -> Array:
    """Losses at points the float evaluation left unsure: exact where that is possible
    and BPTT would agree (clear of float64's overflow and underflow), else the forward pass.
    """
    values = exact_losses(stats, wx, wrec)
    if values is None:
        return losses_at(dataset, wx, wrec)
    magnitude = np.abs(values)
    agreed = ((magnitude >= TINY) & (magnitude <= stats.safe_max)) | (magnitude == 0)
    if not agreed.all():
        values[~agreed] = losses_at(dataset, wx[~agreed], wrec[~agreed])
    return values
