"""The fast path: loss and gradients from polynomial statistics of the dataset, exact to RTOL.

One pass over the data (moments) makes every later evaluation cost O(T), whatever the
number of sequences. Every value carries a rounding bound and is used only where the
bound vouches for it; elsewhere the reference path (BPTT, the forward pass) answers, or
the exact big-integer fallback for bits with integer targets.

    moments     the one pass over the data
    statistics  the polynomial coefficients and their values at any wrec
    bounds      when a value is vouched for (RTOL)
    evaluate    loss, gradient and mean residual with their bounds, arrays or one point
    grid        losses on a grid, vouched for a row at a time
    exact       the exact fallback for losses, and ``settle`` for the unsure ones
    columns     every sequence's polynomial value at a wrec, once per wrec column, O(n T)
    rows        losses at any points from those columns: long sequences, few of them, and
                the statistics' unsure cells when that is cheaper than exact arithmetic
    cache       ``statistics(dataset)``: once per dataset; ``cached`` if already paid for;
                ``disabled()`` forces the reference
    oracle      losses and gradients at many weights, fast or reference: the training loop's
"""

from core.fastpath.bounds import RTOL
from core.fastpath.cache import MAX_FAST_WIDTH, cached, disabled, enabled, statistics
from core.fastpath.evaluate import Evaluation, evaluate, gradient_at
from core.fastpath.exact import exact_losses, settle
from core.fastpath.grid import grid_losses
from core.fastpath.oracle import SIGN_RTOL, Oracle
from core.fastpath.statistics import Statistics

__all__ = [
    "MAX_FAST_WIDTH",
    "RTOL",
    "SIGN_RTOL",
    "Evaluation",
    "Oracle",
    "Statistics",
    "cached",
    "disabled",
    "enabled",
    "evaluate",
    "exact_losses",
    "gradient_at",
    "grid_losses",
    "settle",
    "statistics",
]
