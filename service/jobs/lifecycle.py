"""The jobs part of the API's lifespan: backend, job service, hooks and the reaper thread.

The app's lifespan enters :func:`jobs_lifespan`, which opens the backend, starts the
reaper thread, the watchers' task group and the store's change feed, adds the job series
to /metrics, and hands back a ``JobsRuntime``: the ``JobService`` routes use, the
``JobWatcher`` that follows jobs, and the readiness check of the job store and queue.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
import anyio.to_thread
from prometheus_client import CollectorRegistry

from service.config import Settings
from service.datasets.registry import DatasetRegistry
from service.jobs.backend import JobBackend, open_backend
from service.jobs.health import BackendHealth, Components, advice
from service.jobs.metrics import JobMetrics
from service.jobs.queue import QueueUnavailableError
from service.jobs.reaper import Reaper
from service.jobs.service import JobService
from service.jobs.store.base import StoreUnavailableError
from service.jobs.watch import JobWatcher

logger = logging.getLogger("rnnlab.jobs")

READY_TIMEOUT = 3.0  # seconds /ready waits for the backend before answering 503


@dataclass(frozen=True)
class JobsRuntime:
    """What the running job backend offers the app: the service, the watcher, readiness."""

    jobs: JobService
    watcher: JobWatcher
    ready: Callable[[], Awaitable[tuple[Components, list[str]]]]


@asynccontextmanager
async def jobs_lifespan(
    settings: Settings, datasets: DatasetRegistry, metrics: CollectorRegistry
) -> AsyncIterator[JobsRuntime]:
    """Open the job backend; close it (and stop the reaper and the watchers) at exit.

    Opening never fails on a broken file or an unreachable server: the API starts, its
    stateless endpoints serve, job endpoints answer 503 and ``/ready`` names what is
    broken, while a log line says what to do about it. The job series join ``metrics``
    for as long as the backend is open.
    """
    backend = await anyio.to_thread.run_sync(open_backend, settings)
    jobs = JobService(settings, backend, datasets)
    health = BackendHealth(backend)

    async def jobs_ready() -> tuple[Components, list[str]]:
        try:
            with anyio.fail_after(READY_TIMEOUT):
                return await anyio.to_thread.run_sync(health.check, abandon_on_cancel=True)
        except TimeoutError:
            late = f"did not answer within {READY_TIMEOUT:g} s"
            return {"job_store": late, "job_queue": late}, health.warnings()

    components, _ = await jobs_ready()
    for name, state in components.items():
        if state != "ok":
            logger.error("%s unusable at start (%s): %s", name, state, advice(state))
    collector = JobMetrics(backend, health)
    metrics.register(collector)
    reaper = _ReaperThread(backend, settings, health)
    reaper.start()
    try:
        async with anyio.create_task_group() as watchers:
            watcher = JobWatcher(
                jobs,
                watchers,
                max_streams=settings.max_event_streams,
                max_streams_per_job=settings.max_event_streams_per_job,
            )
            feed = backend.store.change_feed()
            watchers.start_soon(feed.follow, watcher.nudge, watcher.watching)
            yield JobsRuntime(jobs, watcher, jobs_ready)
            watchers.cancel_scope.cancel()
    finally:
        reaper.stop()
        metrics.unregister(collector)
        backend.close()


class _ReaperThread:
    """Runs ``Reaper.reap`` and ``Reaper.purge`` every ``reaper_interval`` seconds, off the loop."""

    def __init__(self, backend: JobBackend, settings: Settings, health: BackendHealth) -> None:
        self._health = health
        self._reaper = Reaper(
            backend, settings.heartbeat_timeout, retention=settings.job_retention_seconds
        )
        self._interval = settings.reaper_interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rnnlab-reaper", daemon=True)
        self._failing = False

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._health.check()  # notices an emptied store within one interval
                self._reaper.reap()
                self._reaper.purge()
            except (StoreUnavailableError, QueueUnavailableError) as exc:
                if not self._failing:  # log the outage once, not every pass
                    logger.warning("reaper: job backend unavailable: %s", exc)
                self._failing = True
                continue
            except Exception:
                logger.exception("reaper: pass failed")
                continue
            if self._failing:
                logger.info("reaper: job backend answers again")
            self._failing = False
