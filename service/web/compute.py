"""CPU-bound work in worker threads: admitted atomically, bounded, and stopped when unwanted.

Admission is a counter taken synchronously (no ``await`` between the check and the
increment), so simultaneous arrivals cannot all slip past the limit: at most
``max_concurrent + max_pending`` requests are admitted at once, and the next one gets a
429 with ``Retry-After`` immediately. An admission lasts until the response has been sent
(``RequestContextMiddleware`` releases it), so the results waiting to be sent count too,
and the service's memory is bounded by the admitted requests' results.

A running computation stops at its next ``core.cancel.checkpoint()`` when its client
disconnects or its request is cancelled (a server shutting down cancels them all), so no
thread keeps computing for nobody.

A computation estimated (``core.cost``) to take less than ``INLINE_SECONDS`` runs on the
event loop instead (``run_estimated``): handing it to a thread and back would cost more
than the work, and it holds the loop for less time than a thread hop would. It needs no
admission: it ends before anything else can run.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import math
import sys
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import ParamSpec, TypeVar

import anyio
import anyio.lowlevel
import anyio.to_thread
from fastapi import Request
from starlette.types import Receive

from core.cancel import Cancelled, stop_when
from service.errors import ClientGone, LimitExceeded, QueueFull
from service.web.context import on_request_end

__all__ = [
    "ComputeLimiter",
    "RequestCompute",
    "tune_allocator",
]

logger = logging.getLogger("rnnlab.compute")

P = ParamSpec("P")
T = TypeVar("T")

RETRY_AFTER = 1  # seconds a client is told to wait when every admission is taken
INLINE_SECONDS = 2e-4  # estimated work below this runs on the loop, not in a thread


class ComputeLimiter:
    """At most ``max_concurrent`` computations in threads; at most ``max_pending`` more admitted."""

    def __init__(self, max_concurrent: int, max_pending: int, budget: float = math.inf) -> None:
        self._limiter = anyio.CapacityLimiter(max_concurrent)
        self._budget = budget
        self._capacity = max_concurrent + max_pending
        self._admitted = 0
        self._running = 0
        self._running_lock = threading.Lock()
        self._max_pending = max_pending
        self.on_change: Callable[[], None] = lambda: None  # /metrics follows the counts

    @property
    def running(self) -> int:
        return self._running

    @property
    def admitted(self) -> int:
        return self._admitted

    def admit(self, request: Request) -> None:
        """Admit ``request`` for the rest of its life, or raise QueueFull (429) at once."""
        state = request.scope.setdefault("state", {})
        if state.get("admitted"):
            return
        if self._admitted >= self._capacity:
            raise QueueFull(
                f"{self._admitted} computations are admitted (running, waiting or sending "
                f"their answer; limit max_concurrent_computations + max_pending_computations "
                f"= {self._capacity}); retry shortly",
                retry_after=RETRY_AFTER,
            )
        self._admitted += 1
        state["admitted"] = True
        on_request_end(request.scope, self._release)
        self.on_change()

    def _release(self) -> None:
        self._admitted -= 1
        self.on_change()

    def _started(self, change: int) -> None:
        """A worker thread started (+1) or ended (-1) a computation (called in the thread)."""
        with self._running_lock:
            self._running += change
        self.on_change()

    async def run(
        self, request: Request, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``func(*args, **kwargs)`` in a worker thread, stopped if the client goes away.

        A computation that runs longer than the budget (``max_compute_seconds``) is
        stopped too, and answered 413 like a request estimated to be over it.
        """
        self.admit(request)
        stop = threading.Event()
        call = partial(func, *args, **kwargs)
        overtime = threading.Event()

        elapsed: list[float] = []

        def compute() -> T:
            started = time.monotonic()

            def should_stop() -> bool:
                if not overtime.is_set() and time.monotonic() - started > self._budget:
                    elapsed.append(time.monotonic() - started)
                    overtime.set()
                return stop.is_set() or overtime.is_set()

            self._started(1)
            try:
                with stop_when(should_stop):
                    return call()
            finally:
                self._started(-1)

        outcome: list[T] = []
        failure: list[BaseException] = []
        async with anyio.create_task_group() as watchers:
            watchers.start_soon(_watch_disconnect, request.receive, stop)
            try:
                outcome.append(await anyio.to_thread.run_sync(compute, limiter=self._limiter))
            except Exception as exc:  # re-raised outside the group, which would wrap it
                failure.append(exc)
            finally:
                watchers.cancel_scope.cancel()
        if failure and not isinstance(failure[0], Cancelled):
            raise failure[0]
        if overtime.is_set():
            raise LimitExceeded(
                "max_compute_seconds",
                self._budget,
                round(elapsed[0], 3),
                "the computing time (seconds; stopped there, as its size could not foretell it)",
            )
        if not outcome:
            await anyio.lowlevel.checkpoint()  # a cancelled request stays cancelled
            raise ClientGone("the client disconnected; the computation was stopped")
        return outcome[0]


async def _watch_disconnect(receive: Receive, stop: threading.Event) -> None:
    """Set ``stop`` when the client disconnects, or when this request is cancelled."""
    try:
        while (await receive())["type"] != "http.disconnect":
            pass
    finally:  # also on cancellation: the request is being abandoned (e.g. at shutdown)
        stop.set()


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


class RequestCompute:
    """The app's limiter bound to one request: what a route uses to compute."""

    def __init__(self, limiter: ComputeLimiter, request: Request) -> None:
        self._limiter = limiter
        self._request = request

    def admit(self) -> None:
        """Admit the request without computing (it will send something large)."""
        self._limiter.admit(self._request)

    async def run(self, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._limiter.run(self._request, func, *args, **kwargs)

    async def run_estimated(
        self, seconds: float | None, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``func`` on the loop when its estimated time (None: unknown, e.g. its data must
        be read first) is below ``INLINE_SECONDS``; else as ``run`` does."""
        if seconds is not None and seconds < INLINE_SECONDS:
            return func(*args, **kwargs)
        return await self._limiter.run(self._request, func, *args, **kwargs)
