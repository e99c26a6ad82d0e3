"""Run CPU-bound core calls in worker threads, a bounded number at a time.

NumPy releases the GIL in its loops, so while a large grid computes in a thread the
event loop keeps answering (``/health`` stays prompt). A capacity limiter bounds how many
computations run at once, and a cap on waiting requests turns overload into a quick 429
instead of an ever-growing backlog.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys
from collections.abc import Callable
from functools import partial
from typing import Annotated, ParamSpec, TypeVar

import anyio
import anyio.to_thread
from fastapi import Depends, Request

from service.errors import QueueFull

__all__ = ["ComputeDep", "ComputeLimiter", "get_compute", "tune_allocator"]

logger = logging.getLogger("rnnlab.compute")

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


def tune_allocator() -> bool:
    """Keep freed megabyte-sized buffers for reuse instead of returning them to the OS.

    glibc serves blocks above a (dynamic) threshold with fresh ``mmap`` pages, so every
    large array or response body pays a page fault per 4 KiB on first touch: for a
    512 x 512 surface that doubled the time of the request. Raising the mmap threshold to
    32 MiB (glibc's maximum) and the trim threshold to 256 MiB lets them reuse the heap.
    A no-op (False) where the C library is not glibc.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    tuned = bool(mallopt(m_mmap_threshold, 32 << 20)) and bool(mallopt(m_trim_threshold, 256 << 20))
    logger.debug("malloc tuning %s", "applied" if tuned else "unavailable")
    return tuned


async def get_compute(request: Request) -> ComputeLimiter:
    """The app's limiter (built in the lifespan)."""
    compute: ComputeLimiter = request.app.state.compute
    return compute


ComputeDep = Annotated[ComputeLimiter, Depends(get_compute)]
