"""The jobs part of the API's lifespan: backend, job service, hooks and the reaper thread.

``create_app``'s lifespan enters :func:`jobs_lifespan`; it sets ``app.state.jobs`` (the
``JobService`` routes use), adds the job store and queue to the readiness checks,
installs the hook ``POST /predict`` uses for ``job_id`` and adds the job series to
/metrics (``app.state.metrics_registry``) for as long as the backend is open.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import anyio.to_thread
from fastapi import FastAPI

from service.config import Settings
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


@asynccontextmanager
async def jobs_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the job backend for the app's settings; close it (and stop the reaper) at exit.

    Opening never fails on a broken file or an unreachable server: the API starts, its
    stateless endpoints serve, job endpoints answer 503 and ``/ready`` names what is
    broken, while a log line says what to do about it.
    """
    settings: Settings = app.state.settings
    backend = await anyio.to_thread.run_sync(open_backend, settings)
    jobs = JobService(settings, backend, app.state.datasets)
    health = BackendHealth(backend)
    app.state.jobs = jobs

    async def jobs_ready() -> tuple[Components, list[str]]:
        try:
            with anyio.fail_after(READY_TIMEOUT):
                return await anyio.to_thread.run_sync(health.check, abandon_on_cancel=True)
        except TimeoutError:
            late = f"did not answer within {READY_TIMEOUT:g} s"
            return {"job_store": late, "job_queue": late}, health.warnings()

    async def resolve_job_weights(job_id: str) -> tuple[float, float]:
        return await anyio.to_thread.run_sync(jobs.trained_weights, job_id)

    app.state.ready_checks["jobs"] = jobs_ready
    app.state.resolve_job_weights = resolve_job_weights
    components, _ = await jobs_ready()
    for name, state in components.items():
        if state != "ok":
            logger.error("%s unusable at start (%s): %s", name, state, advice(state))
    metrics = JobMetrics(backend, health)
    app.state.metrics_registry.register(metrics)
    reaper = _ReaperThread(backend, settings, health)
    reaper.start()
    try:
        async with anyio.create_task_group() as watchers:
            app.state.job_watcher = JobWatcher(
                jobs,
                watchers,
                max_streams=settings.max_event_streams,
                max_streams_per_job=settings.max_event_streams_per_job,
            )
            yield
            watchers.cancel_scope.cancel()
    finally:
        reaper.stop()
        app.state.metrics_registry.unregister(metrics)
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
