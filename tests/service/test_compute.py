"""The compute limiter: work runs in threads, a bounded number at once, bounded waiting."""

from __future__ import annotations

import platform
import sys
import threading
import time

import anyio
import pytest

from service.compute import ComputeLimiter, tune_allocator
from service.errors import QueueFull

pytestmark = pytest.mark.anyio


async def test_runs_in_a_worker_thread() -> None:
    limiter = ComputeLimiter(max_concurrent=2, max_pending=2)
    thread = await limiter.run(threading.get_ident)
    assert thread != threading.get_ident()


async def test_at_most_max_concurrent_run_at_once() -> None:
    limiter = ComputeLimiter(max_concurrent=2, max_pending=10)
    active = peak = 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.05)
        with lock:
            active -= 1

    async with anyio.create_task_group() as tg:
        for _ in range(6):
            tg.start_soon(limiter.run, work)
    assert peak == 2


async def test_too_many_waiting_is_queue_full() -> None:
    limiter = ComputeLimiter(max_concurrent=1, max_pending=1)
    release = threading.Event()
    results: list[str] = []

    async def occupy() -> None:
        results.append(await limiter.run(lambda: release.wait(5) and "done"))

    async with anyio.create_task_group() as tg:
        tg.start_soon(occupy)  # running
        tg.start_soon(occupy)  # waiting
        await anyio.sleep(0.1)
        assert (limiter.running, limiter.waiting) == (1, 1)
        with pytest.raises(QueueFull) as caught:
            await limiter.run(lambda: "never")
        assert caught.value.headers["Retry-After"] == "1"
        release.set()
    assert results == ["done", "done"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc tuning")
def test_allocator_tuning_applies_on_glibc() -> None:
    if platform.libc_ver()[0] != "glibc":
        pytest.skip("not glibc")
    assert tune_allocator() is True
