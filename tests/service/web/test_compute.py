"""The compute limiter: threads, atomic admission, and computations that stop when unwanted."""

from __future__ import annotations

import platform
import sys
import threading
import time

import anyio
import pytest
from starlette.requests import Request
from starlette.types import Message

from core.cancel import checkpoint
from service.errors import ClientGone, QueueFull
from service.web.compute import ComputeLimiter, tune_allocator
from service.web.context import run_request_end

pytestmark = pytest.mark.anyio


def fake_request(disconnected: anyio.Event | None = None) -> Request:
    """A request whose client disconnects when ``disconnected`` is set (never if None)."""
    gone = disconnected or anyio.Event()
    sent_body = False

    async def receive() -> Message:
        nonlocal sent_body
        if not sent_body:
            sent_body = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "state": {}}
    return Request(scope, receive)


async def test_runs_in_a_worker_thread() -> None:
    limiter = ComputeLimiter(max_concurrent=2, max_pending=2)
    thread = await limiter.run(fake_request(), threading.get_ident)
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
            tg.start_soon(limiter.run, fake_request(), work)
    assert peak == 2


async def test_simultaneous_arrivals_beyond_the_limit_are_refused_at_once() -> None:
    limiter = ComputeLimiter(max_concurrent=1, max_pending=2)
    release = threading.Event()
    outcomes: list[str] = []

    async def arrive() -> None:
        try:
            await limiter.run(fake_request(), release.wait, 30)
            outcomes.append("done")
        except QueueFull as exc:
            outcomes.append(f"429 after {exc.headers['Retry-After']} s")

    async with anyio.create_task_group() as tg:
        for _ in range(10):  # all arrive before any of them is scheduled
            tg.start_soon(arrive)
        with anyio.fail_after(30):
            while outcomes.count("429 after 1 s") < 7:
                await anyio.sleep(0.01)
        assert limiter.admitted == 3
        release.set()
    assert sorted(outcomes) == ["429 after 1 s"] * 7 + ["done"] * 3


async def test_an_admission_lasts_until_the_request_ends() -> None:
    limiter = ComputeLimiter(max_concurrent=1, max_pending=0)
    request = fake_request()
    await limiter.run(request, lambda: None)
    with pytest.raises(QueueFull):  # the first request is still sending its answer
        await limiter.run(fake_request(), lambda: None)
    run_request_end(request.scope)
    assert limiter.admitted == 0
    await limiter.run(fake_request(), lambda: None)


async def test_a_client_that_disconnects_stops_its_computation() -> None:
    limiter = ComputeLimiter(max_concurrent=1, max_pending=0)
    gone = anyio.Event()
    started = threading.Event()
    stopped = threading.Event()

    def spin() -> None:
        started.set()
        try:
            while True:  # only a checkpoint ends this loop
                checkpoint()
                time.sleep(0.001)
        finally:
            stopped.set()

    async def disconnect_once_started() -> None:
        await anyio.to_thread.run_sync(started.wait, 30)
        gone.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(disconnect_once_started)
        with pytest.raises(ClientGone):
            await limiter.run(fake_request(gone), spin)
    assert stopped.is_set()


async def test_cancelling_the_request_stops_its_computation() -> None:
    """What a shutting-down server does to requests still computing."""
    limiter = ComputeLimiter(max_concurrent=1, max_pending=0)
    started = threading.Event()
    stopped = threading.Event()

    def spin() -> None:
        started.set()
        try:
            while True:
                checkpoint()
                time.sleep(0.001)
        finally:
            stopped.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(limiter.run, fake_request(), spin)
        await anyio.to_thread.run_sync(started.wait, 30)
        tg.cancel_scope.cancel()
    assert stopped.is_set()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc tuning")
def test_allocator_tuning_applies_on_glibc() -> None:
    if platform.libc_ver()[0] != "glibc":
        pytest.skip("not glibc")
    assert tune_allocator() is True
