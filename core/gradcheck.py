"""Gradient checking: BPTT against central differences of the loss."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.bptt import gradient
from core.datasets import Dataset
from core.errors import InvalidInputError
from core.model import loss

__all__ = ["GradientCheck", "check_gradient", "numerical_gradient"]


@dataclass(frozen=True)
class GradientCheck:
    """Both gradients as (d/dwx, d/dwrec), their largest differences and the verdict."""

    analytic: tuple[float, float]
    numeric: tuple[float, float]
    max_abs_error: float
    max_rel_error: float
    ok: bool


def numerical_gradient(
    dataset: Dataset, wx: float, wrec: float, eps: float = 1e-7
) -> tuple[float, float]:
    """(ξ(w + eps) - ξ(w - eps)) / (2 eps) for each weight."""
    d_wx = (loss(dataset, wx + eps, wrec) - loss(dataset, wx - eps, wrec)) / (2 * eps)
    d_wrec = (loss(dataset, wx, wrec + eps) - loss(dataset, wx, wrec - eps)) / (2 * eps)
    return d_wx, d_wrec


def check_gradient(
    dataset: Dataset,
    wx: float,
    wrec: float,
    eps: float = 1e-7,
    *,
    rtol: float = 1e-5,
    atol: float = 1e-8,
) -> GradientCheck:
    """Compare BPTT with central differences; ok when numpy.isclose(numeric, analytic) for both.

    The defaults are numpy.isclose's: the tutorial's check (eps = 1e-7 at (1.2, 1.2)).
    """
    if not (math.isfinite(eps) and eps > 0):
        raise InvalidInputError("eps", f"must be a finite number > 0, got {eps}")
    g = gradient(dataset, wx, wrec)
    analytic = (g.wx, g.wrec)
    numeric = numerical_gradient(dataset, wx, wrec, eps)
    a, n = np.asarray(analytic), np.asarray(numeric)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        abs_error = np.abs(a - n)
        rel_error = abs_error / np.maximum(np.abs(a), np.abs(n))
        rel_error = np.where(abs_error == 0, 0.0, rel_error)
        ok = bool(np.isclose(n, a, rtol=rtol, atol=atol).all())
    return GradientCheck(analytic, numeric, float(abs_error.max()), float(rel_error.max()), ok)
