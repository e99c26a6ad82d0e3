"""How many threads BLAS may use, set deliberately instead of left to the library.

OpenBLAS (and MKL) start as many threads as the machine has cores, per process, on every
matrix product. One process alone gains from that; several at once (HTTP processes,
job workers, a compute thread per request) oversubscribe the cores, and the threads spin
and wait on each other: measured on 2 cores under contention, one pass over 10^6 x 100
(the statistics' Gram pass) took 0.48-8.1 s with the default threading against
0.20-0.25 s with one thread per process. A caller that knows how much of the machine is
its share says so here; ``threadpoolctl`` applies it to every BLAS the process loaded.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import threadpool_info, threadpool_limits

from core.errors import InvalidInputError

__all__ = ["blas_threads", "current_blas_threads", "limit_blas_threads"]


def _check(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidInputError("threads", f"must be an integer >= 1, got {n!r}")
    return n


@contextmanager
def blas_threads(n: int) -> Iterator[None]:
    """Within the block, BLAS uses at most ``n`` threads; the previous limits come back after.

    The limit is process-wide (BLAS libraries keep one pool each), so concurrent threads
    of one process share it: set it once per worker rather than per request.
    """
    with threadpool_limits(limits=_check(n), user_api="blas"):
        yield


def limit_blas_threads(n: int) -> None:
    """At most ``n`` BLAS threads from now on, for the whole process (a worker's start-up)."""
    threadpool_limits(limits=_check(n), user_api="blas")


def current_blas_threads() -> int | None:
    """The largest thread count of the BLAS libraries loaded, or None if none is loaded."""
    counts = [int(pool["num_threads"]) for pool in threadpool_info() if pool["user_api"] == "blas"]
    return max(counts) if counts else None
