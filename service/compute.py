"""Run CPU-bound core calls in worker threads, a bounded number at a time.

NumPy releases the GIL in its loops, so while a large grid computes in a thread the
event loop keeps answering (``/health`` stays prompt). A capacity limiter bounds how many
computations run at once, and a cap on waiting requests turns overload into a quick 429
instead of an ever-growing backlog.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated, ParamSpec, TypeVar

import anyio
import anyio.to_thread
from fastapi import Depends, Request

from service.errors import QueueFull

__all__ = ["ComputeDep", "ComputeLimiter", "get_compute"]

P = ParamSpec("P")
T = TypeVar("T")


class ComputeLimiter:
    """At most ``max_concurrent`` computations in threads, at most ``max_pending`` waiting."""

    def __init__(self, max_concurrent: int, max_pending: int) -> None:
        self._limiter = anyio.CapacityLimiter(max_concurrent)
        self._max_pending = max_pending

    @property
    def running(self) -> int:
        return int(self._limiter.borrowed_tokens)

    @property
    def waiting(self) -> int:
        return self._limiter.statistics().tasks_waiting

    async def run(self, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``func(*args, **kwargs)`` in a worker thread; QueueFull when too many wait."""
        if self._limiter.available_tokens < 1 and self.waiting >= self._max_pending:
            raise QueueFull(
                f"{self.running} computations are running and {self.waiting} are waiting "
                f"(limit max_pending_computations={self._max_pending}); retry shortly"
            )
        return await anyio.to_thread.run_sync(partial(func, *args, **kwargs), limiter=self._limiter)


def get_compute(request: Request) -> ComputeLimiter:
    """The app's limiter (built in the lifespan)."""
    compute: ComputeLimiter = request.app.state.compute
    return compute


ComputeDep = Annotated[ComputeLimiter, Depends(get_compute)]
