"""Where callers get a dataset's statistics: computed once per dataset, or not at all.

``statistics`` is the fast path's entry point: None means "take the reference path"
(BPTT and the forward pass), because the dataset is too wide for the statistics to pay
off or because the caller switched the fast path off with ``disabled()``. Callers that
will evaluate many times (training) may allow wider datasets, up to MAX_TRAINING_WIDTH.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from core.datasets import Dataset
from core.fastpath.statistics import Statistics

__all__ = [
    "MAX_FAST_WIDTH",
    "MAX_TRAINING_WIDTH",
    "cached",
    "disabled",
    "enabled",
    "fast_width",
    "statistics",
]

# The Gram matrix is width x width: beyond this, the statistics cost more than they save
# for a caller that evaluates a few points (and unsure points' exact fallback grows as T^2).
MAX_FAST_WIDTH = 1024
# For callers that evaluate many times (training): memory bounds the width. The one pass
# holds the Gram matrix (8 T^2 bytes) and a panel of a block's product: ~180 MB at 4096
# (n = 1000: 0.56 s against BPTT's 6.5 s for 100 iterations; ~60 MB at 2048).
MAX_TRAINING_WIDTH = 4096
# Timesteps of width whose statistics one BPTT evaluation repays: the Gram pass is
# O(n T^2) against O(n T) per BPTT, and costs as much as T / 500 BPTT passes on bits,
# T / 250 on reals (rounded down, so that the statistics are taken where they clearly win).
_STEPS_REPAID_PER_EVALUATION = 100

# Per thread and task, so switching it off in one computation leaves the others alone.
_enabled: ContextVar[bool] = ContextVar("rnnlab_fastpath_enabled", default=True)
_cache: weakref.WeakKeyDictionary[Dataset, Statistics] = weakref.WeakKeyDictionary()


def statistics(dataset: Dataset, *, max_width: int = MAX_FAST_WIDTH) -> Statistics | None:
    """The dataset's statistics (computed once per dataset object), or None: reference path.

    ``max_width`` is the widest dataset the caller wants them for (MAX_FAST_WIDTH unless
    it will evaluate often enough to repay a wider one's Gram pass).
    """
    if dataset.width > max_width or not _enabled.get():
        return None
    stats = _cache.get(dataset)
    if stats is None:
        stats = _cache[dataset] = Statistics(dataset)
    return stats


def cached(dataset: Dataset) -> Statistics | None:
    """The dataset's statistics if they were computed already (and the fast path is on).

    For callers that pick the cheaper of two paths: statistics already paid for make every
    point O(T), while computing them first is O(n T^2) and only sometimes worth it. Those
    of a dataset wider than MAX_FAST_WIDTH exist only if a training run paid for them.
    """
    if not _enabled.get():
        return None
    return _cache.get(dataset)


def fast_width(evaluations: int = 1) -> int:
    """The widest dataset whose statistics pay off for a caller evaluating this many times.

    MAX_FAST_WIDTH for a few evaluations; past it, the statistics of a T-step dataset cost
    about T / 100 BPTT passes, so a caller with more evaluations than that takes them, up
    to MAX_TRAINING_WIDTH.
    """
    repaid = evaluations * _STEPS_REPAID_PER_EVALUATION
    return max(MAX_FAST_WIDTH, min(MAX_TRAINING_WIDTH, repaid))


def enabled() -> bool:
    """Whether the fast path is on in this context (it is unless ``disabled()`` is active)."""
    return _enabled.get()


@contextmanager
def disabled() -> Iterator[None]:
    """Within the block every loss and gradient comes from the reference path.

    For checking the fast path against BPTT, and for timing the reference. Applies to the
    current thread (or asyncio task) only.
    """
    token = _enabled.set(False)
    try:
        yield
    finally:
        _enabled.reset(token)
