"""Figures are drawn in worker processes, because matplotlib holds the interpreter lock.

Agg rasterises a figure in long C++ calls that keep the GIL (about 70 ms for a
4000 x 4000 image): in a thread of the API process that would stall every other request,
``/health`` included. So each image is drawn and encoded by one call of a
``service.figures.drawing`` function in a process of a small pool (``figure_processes``),
which receives the computed surfaces and paths and returns the image's bytes. The pool
starts on the first figure (about a second: a process imports matplotlib) and is shut
down with the app; a pool whose process died is replaced, and that request answered 503.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import Any

from service.errors import BackendUnavailable

__all__ = ["FigureRenderer"]


def _prepare() -> None:
    """Import matplotlib (without a display) once per process, before the first figure."""
    import matplotlib

    matplotlib.use("Agg")
    import service.figures.drawing  # noqa: F401 - the functions the pool runs


class FigureRenderer:
    """A lazily started pool of ``processes`` processes that draw figures."""

    def __init__(self, processes: int) -> None:
        self._processes = processes
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _started(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=self._processes,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_prepare,
                )
            return self._pool

    async def render(self, draw: Callable[..., bytes], *args: Any) -> bytes:
        """``draw(*args)`` in a pool process: the image's bytes."""
        pool = self._started()
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, partial(draw, *args))
        except BrokenProcessPool:
            self.close()  # the next figure starts a new pool
            raise BackendUnavailable(
                "the process drawing figures stopped unexpectedly; retry", retry_after=1
            ) from None

    def close(self) -> None:
        """Stop the pool (its processes exit; figures being drawn are abandoned)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
