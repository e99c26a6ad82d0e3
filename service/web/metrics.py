"""/metrics: request counts and latencies, computations, jobs; right with several processes.

One process: the app's own registry (``AppState.metrics``: several apps in one process,
as in tests, would otherwise share and lose series) holds every series, process metrics
included. Several HTTP processes (``RNNLAB_API_PROCESSES``): a scrape reaches one of them,
so the series of all are written to ``PROMETHEUS_MULTIPROC_DIR`` (the launcher makes it)
and summed at the scrape by prometheus_client's multiprocess collector; per-process
metrics (memory, CPU, GC) are left out, as that collector cannot sum them. Either way the
job series come from the job store, the same whichever process answers.
"""

from __future__ import annotations

import os

from fastapi import FastAPI
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Gauge,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_fastapi_instrumentator import Instrumentator
from starlette.requests import Request
from starlette.responses import Response

from service.web.compute import ComputeLimiter

__all__ = ["MULTIPROCESS_DIR", "install_metrics", "mark_process_dead"]

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"


def _multiprocess() -> bool:
    return MULTIPROCESS_DIR in os.environ


def install_metrics(
    app: FastAPI, objects: CollectorRegistry, live: CollectorRegistry, compute: ComputeLimiter
) -> None:
    """Instrument ``app`` and serve /metrics from ``objects`` (series this process updates)
    and ``live`` (collectors that read shared state when scraped: the jobs')."""
    if not _multiprocess():
        for collector in (ProcessCollector, PlatformCollector, GCCollector):
            collector(registry=objects)
    _track_computations(compute, objects)
    Instrumentator(excluded_handlers=["/metrics"], registry=objects).instrument(app)

    async def metrics(request: Request) -> Response:
        if _multiprocess():
            summed = CollectorRegistry()
            prometheus_multiprocess.MultiProcessCollector(summed)  # type: ignore[no-untyped-call]
            body = generate_latest(summed)
        else:
            body = generate_latest(objects)
        return Response(body + generate_latest(live), media_type=CONTENT_TYPE_LATEST)

    app.add_route("/metrics", metrics, include_in_schema=False)


def _track_computations(compute: ComputeLimiter, registry: CollectorRegistry) -> None:
    running = Gauge(
        "rnnlab_computations_running",
        "Requests computing in a worker thread now.",
        registry=registry,
        multiprocess_mode="livesum",
    )
    admitted = Gauge(
        "rnnlab_computations_admitted",
        "Requests admitted to compute (running, waiting for a thread, or sending).",
        registry=registry,
        multiprocess_mode="livesum",
    )

    def changed() -> None:
        running.set(compute.running)
        admitted.set(compute.admitted)

    compute.on_change = changed
    changed()


def mark_process_dead(pid: int) -> None:
    """Drop the live series of an HTTP process that is gone (the supervisor calls it)."""
    if _multiprocess():
        prometheus_multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
