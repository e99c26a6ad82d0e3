"""Loss, gradient and mean residual from the statistics, each with its rounding bound.

The same quadratic in wx is written two ways: around (1, 1), residual u P + v Q + e,
exact in the valley the optimisers converge to; and around wx = 0, residual wx P - t,
exact where the output is near zero. Each point takes the first form that vouches for
all its values (core.fastpath.bounds); where neither does, the caller asks the reference
path. The formulas below serve both arrays (``evaluate``) and plain floats
(``gradient_at``, the training loop's hot path), so the two cannot drift apart; fed
with which factors are non-zero instead of their magnitudes, a bound's formula counts
the terms that can be non-zero at all, which tells an exact zero from an underflow.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from core.fastpath.bounds import RTOL, exact_zero, scalar_vouched, vouched
from core.fastpath.statistics import (
    COLUMNS,
    P1,
    PE,
    PP,
    PQ,
    PT,
    Q1,
    QE,
    QQ,
    RE,
    RP,
    RQ,
    RT,
    Statistics,
)

__all__ = ["Evaluation", "evaluate", "gradient_at"]

Array = NDArray[np.float64]
# A value or an array of them: the formulas are the same for both.
V = TypeVar("V", float, Array)
Polynomials = Sequence[V] | Sequence[float]


@dataclass(frozen=True)
class Evaluation:
    """Fast-path values at broadcast points.

    ``sure`` covers loss and gradient, ``residual_sure`` the mean residual (the gradient
    trace); where either is False, the reference path must answer. ``log2_loss`` is log2
    of the loss where the scaled evaluation vouches for it (NaN elsewhere), finite even
    past float64, so that a loss that surely overflows is known without asking BPTT.
    """

    loss: Array
    grad_wx: Array
    grad_wrec: Array
    mean_residual: Array
    sure: NDArray[np.bool_]
    log2_loss: Array
    residual_sure: NDArray[np.bool_]


def quadratic_around_one(p: Polynomials[V], q: Polynomials[V], u: V, v: V) -> tuple[V, V]:
    """The loss less e's mean square, over the scale, and its magnitude: around (1, 1)."""
    au, av = abs(u), abs(v)
    quad = u * u * p[PP] + v * v * p[QQ] + 2.0 * (u * v * p[PQ] + u * p[PE] + v * p[QE])
    quad_abs = au * au * q[PP] + av * av * q[QQ] + 2.0 * (au * av * q[PQ] + au * q[PE] + av * q[QE])
    return quad, quad_abs


def quadratic_around_zero(p: Polynomials[V], q: Polynomials[V], wx: V) -> tuple[V, V]:
    """The loss less t's mean square, over the scale, and its magnitude: around wx = 0."""
    aw = abs(wx)
    return wx * wx * p[PP] - 2.0 * wx * p[PT], aw * aw * q[PP] + 2.0 * aw * q[PT]


def gradient_around_one(
    p: Polynomials[V], q: Polynomials[V], u: V, v: V, wx: V, scale: V | float, gamma: float
) -> tuple[V, V, V, V]:
    """(dξ/dwx, its bound, dξ/dwrec, its bound) with the residual u P + v Q + e.

    dξ/dwx = 2 mean((y - t) P) and dξ/dwrec = 2 wx mean((y - t) P'), times the scale the
    polynomial values were divided by; q holds the values of |coefficients| at |r|.
    """
    au, av, aw = abs(u), abs(v), abs(wx)
    gx = 2.0 * scale * (u * p[PP] + v * p[PQ] + p[PE])
    gx_bound = 2.0 * gamma * scale * (au * q[PP] + av * q[PQ] + q[PE])
    gr = 2.0 * wx * scale * (u * p[RP] + v * p[RQ] + p[RE])
    gr_bound = 2.0 * gamma * aw * scale * (au * q[RP] + av * q[RQ] + q[RE])
    return gx, gx_bound, gr, gr_bound


def gradient_around_zero(
    p: Polynomials[V], q: Polynomials[V], wx: V, scale: V | float, gamma: float
) -> tuple[V, V, V, V]:
    """(dξ/dwx, its bound, dξ/dwrec, its bound) with the residual wx P - t."""
    aw = abs(wx)
    gx = 2.0 * scale * (wx * p[PP] - p[PT])
    gx_bound = 2.0 * gamma * scale * (aw * q[PP] + q[PT])
    gr = 2.0 * wx * scale * (wx * p[RP] - p[RT])
    gr_bound = 2.0 * gamma * aw * scale * (aw * q[RP] + q[RT])
    return gx, gx_bound, gr, gr_bound


def underflow_allowance(stats: Statistics, scale: V | float, u: V, v: V, wx: V) -> V:
    """At most what underflow adds to any value at these weights: each product off by up
    to half the smallest subnormal, magnified by the weights, polynomials and scale after it.
    """
    m = 1.0 + abs(u) + abs(v) + abs(wx)
    return stats.underflow_unit * scale * m * m * m  # inf only if the allowance is


def _nonzero(x: Array) -> Array:
    return np.asarray(x != 0, dtype=np.float64)


def gradient_at(
    stats: Statistics, wx: float, wrec: float, rtol: float = RTOL
) -> tuple[float, float] | None:
    """The gradient at one point as plain floats; None where the fast path is unsure.

    A sign-based optimiser passes a large ``rtol``: it needs only the signs to be right.
    """
    if not (math.isfinite(wx) and math.isfinite(wrec)):
        return None
    at = stats.polynomials_at(wrec)
    if at is None:
        return None
    p, q, scale = at
    g, safe_max = stats.gamma, stats.safe_max
    u, v = wx - 1.0, wrec - 1.0
    m = 1.0 + abs(u) + abs(v) + abs(wx)
    extra = stats.underflow_unit * scale * m * m * m  # underflow_allowance, inline: hot path
    one = gx, bx, gr, br = gradient_around_one(p, q, u, v, wx, scale, g)
    if scalar_vouched(gx, bx + extra, rtol, safe_max) and scalar_vouched(
        gr, br + extra, rtol, safe_max
    ):
        return gx, gr
    zero = gx, bx, gr, br = gradient_around_zero(p, q, wx, scale, g)
    if scalar_vouched(gx, bx + extra, rtol, safe_max) and scalar_vouched(
        gr, br + extra, rtol, safe_max
    ):
        return gx, gr
    if 0.0 not in (one[0], one[2], zero[0], zero[2]):
        return None
    # An exact zero (at the optimum, or dξ/dwrec at wx = 0) has no relative bound to pass.
    nz, nu, nv, nw = stats.column_support, float(u != 0), float(v != 0), float(wx != 0)
    for values, supports in (
        (one, gradient_around_one(nz, nz, nu, nv, nw, 1.0, 1.0)),
        (zero, gradient_around_zero(nz, nz, nw, 1.0, 1.0)),
    ):
        gx, bx, gr, br = values
        x_sure = scalar_vouched(gx, bx + extra, rtol, safe_max) or gx == supports[1] == 0.0
        r_sure = scalar_vouched(gr, br + extra, rtol, safe_max) or gr == supports[3] == 0.0
        if x_sure and r_sure:
            return gx, gr
    return None


def evaluate(
    stats: Statistics, wx: ArrayLike, wrec: ArrayLike, *, with_gradient: bool = True
) -> Evaluation:
    """Loss (and gradient, mean residual) at the points broadcast from wx and wrec."""
    wx_a = np.asarray(wx, dtype=np.float64)
    r = np.asarray(wrec, dtype=np.float64)
    poly, poly_abs, log2_scale = stats.polynomials(r)
    p = [poly[..., i] for i in range(COLUMNS)]
    q = [poly_abs[..., i] for i in range(COLUMNS)]
    nz = stats.column_support
    g, safe_max = stats.gamma, stats.safe_max
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        scale = np.exp2(log2_scale)
        u, v, w = wx_a - 1.0, r - 1.0, wx_a
        au, av, aw = np.abs(u), np.abs(v), np.abs(w)
        m = 1.0 + au + av + aw
        extra = stats.underflow_unit * scale * m * m * m  # underflow_allowance, from |u|, |v|, |w|
        # The loss less its constant, divided by the scale: around (1, 1), then wx = 0.
        quad1, quad1_abs = quadratic_around_one(p, q, u, v)
        quad0, quad0_abs = quadratic_around_zero(p, q, w)
        loss1, bound1 = scale * quad1 + stats.s_ee, g * (scale * quad1_abs + stats.s_ee)
        loss0, bound0 = scale * quad0 + stats.s_tt, g * (scale * quad0_abs + stats.s_tt)
        sure1 = vouched(loss1, bound1 + extra, safe_max)
        sure0 = vouched(loss0, bound0 + extra, safe_max)
        if not loss1.all():  # a zero: exact only where every term has a zero factor
            support = quadratic_around_one(nz, nz, _nonzero(u), _nonzero(v))[1]
            sure1 |= exact_zero(loss1, support + float(stats.s_ee != 0))
        if not loss0.all():
            support = quadratic_around_zero(nz, nz, _nonzero(w))[1]
            sure0 |= exact_zero(loss0, support + float(stats.s_tt != 0))
        nan = np.full(np.broadcast(wx_a, r).shape, np.nan)
        gx = gr = mean_residual = nan
        residual_sure = np.zeros(nan.shape, dtype=bool)
        if with_gradient:
            gx1, gx1_bound, gr1, gr1_bound = gradient_around_one(p, q, u, v, w, scale, g)
            gx0, gx0_bound, gr0, gr0_bound = gradient_around_zero(p, q, w, scale, g)
            sure1 &= _gradient_vouched(
                (gx1, gx1_bound + extra, gr1, gr1_bound + extra),
                lambda: gradient_around_one(
                    nz, nz, _nonzero(u), _nonzero(v), _nonzero(w), 1.0, 1.0
                ),
                safe_max,
            )
            sure0 &= _gradient_vouched(
                (gx0, gx0_bound + extra, gr0, gr0_bound + extra),
                lambda: gradient_around_zero(nz, nz, _nonzero(w), 1.0, 1.0),
                safe_max,
            )
            gx = np.where(sure1, gx1, gx0)
            gr = np.where(sure1, gr1, gr0)
            # mean(y - t), for the gradient trace 2 mean(y - t) wrec^(T - k).
            m1 = scale * (u * p[P1] + v * p[Q1]) + stats.mean_e
            m1_bound = g * (scale * (au * q[P1] + av * q[Q1]) + stats.mean_abs_e)
            m0 = scale * w * p[P1] - stats.mean_t
            m0_bound = g * (scale * aw * q[P1] + stats.mean_abs_t)
            r1 = vouched(m1, m1_bound + extra, safe_max)
            r0 = vouched(m0, m0_bound + extra, safe_max)
            if not m1.all():
                support = _nonzero(u) * nz[P1] + _nonzero(v) * nz[Q1]
                r1 |= exact_zero(m1, support + float(stats.mean_abs_e != 0))
            if not m0.all():
                r0 |= exact_zero(m0, _nonzero(w) * nz[P1] + float(stats.mean_abs_t != 0))
            mean_residual = np.where(r1, m1, m0)
            residual_sure = r1 | r0
        loss = np.where(sure1, loss1, loss0)
        # log2 of the loss without forming the scale, to recognise a certain overflow.
        first = quad1_abs + stats.s_ee / scale <= quad0_abs + stats.s_tt / scale
        scaled = np.where(first, quad1 + stats.s_ee / scale, quad0 + stats.s_tt / scale)
        scaled_abs = np.where(first, quad1_abs + stats.s_ee / scale, quad0_abs + stats.s_tt / scale)
        trusted = scaled > 4.0 * g * scaled_abs
        log2_loss = np.where(trusted, log2_scale + np.log2(np.abs(scaled)), np.nan)
    return Evaluation(
        loss, gx, gr, mean_residual, np.asarray(sure1 | sure0), log2_loss, residual_sure
    )


def _gradient_vouched(
    gradient: tuple[Array, Array, Array, Array],
    supports: Callable[[], tuple[Array, Array, Array, Array]],
    safe_max: float,
) -> NDArray[np.bool_]:
    """Both gradients vouched for, an exact zero counting where ``supports`` says it is one."""
    gx, gx_bound, gr, gr_bound = gradient
    x_sure, r_sure = vouched(gx, gx_bound, safe_max), vouched(gr, gr_bound, safe_max)
    if not (gx.all() and gr.all()):
        _, x_support, _, r_support = supports()
        x_sure |= exact_zero(gx, x_support)
        r_sure |= exact_zero(gr, r_support)
    return x_sure & r_sure
