"""The compute budget: what a request may cost, checked before computing and enforced during.

Before any work, a request's estimated computing time (``core.cost``, by the path that
will run) is compared with ``max_compute_seconds``: over it, 413 at once. The estimate
cannot foresee the points the fast path hands to its exact fallback, so the limiter also
stops a computation that runs past the budget (``service.web.compute``), with the same 413.
Every admitted computation therefore ends within about ``max_compute_seconds``.
"""

from __future__ import annotations

from service.config import Settings
from service.errors import LimitExceeded, Loc

__all__ = ["check_budget"]


def check_budget(settings: Settings, seconds: float, what: str, loc: Loc) -> None:
    """LimitExceeded when ``what`` is estimated to take over ``max_compute_seconds``."""
    if seconds > settings.max_compute_seconds:
        raise LimitExceeded(
            "max_compute_seconds",
            settings.max_compute_seconds,
            round(seconds, 1),
            f"the estimated computing time of {what} (seconds, from its size)",
            loc,
        )
