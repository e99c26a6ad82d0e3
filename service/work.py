"""The cost of multi-point requests, checked against ``max_work`` before computing."""

from __future__ import annotations

from core.surface import evaluation_cost
from service.config import Settings
from service.errors import LimitExceeded, Loc

__all__ = ["check_work", "work"]


def work(points: int, n_samples: int, width: int) -> int:
    """Operations to evaluate ``points`` points on an n_samples x width dataset (core's model)."""
    return evaluation_cost(n_samples, width, points)


def check_work(settings: Settings, points: int, n_samples: int, width: int, loc: Loc) -> None:
    """LimitExceeded when the request would be over ``max_work``."""
    cost = work(points, n_samples, width)
    if cost > settings.max_work:
        raise LimitExceeded(
            "max_work",
            settings.max_work,
            cost,
            "the work (sequences x longest^2 + 2 x points x longest; beyond 1024 steps, "
            "points x sequences x longest)",
            loc,
        )
