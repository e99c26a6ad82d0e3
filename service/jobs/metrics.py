"""The job series of /metrics: jobs by status and the queue's depth, read at scrape time.

They are read from the job store and the queue on every scrape, not counted in this
process, because the jobs move elsewhere: in worker processes, on other machines, in
other API replicas. So every replica reports the same whole picture (aggregate replicas
with ``max``, not ``sum``). Both reads are one cheap query each (``count_by_status``,
huey's pending count), and /metrics runs them in a worker thread, off the event loop.

A backend that does not answer drops its series from that scrape while the request
metrics stay; the outage is logged once, not once per scrape, and its end once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from service.jobs.backend import JobBackend
from service.jobs.health import BackendHealth
from service.jobs.models import JOB_STATUSES

logger = logging.getLogger("rnnlab.metrics")

T = TypeVar("T")

JOBS = "rnnlab_jobs"
QUEUE_PENDING = "rnnlab_queue_pending"
STORE_PERSISTENT = "rnnlab_job_store_persistent"
STORE_RESETS = "rnnlab_job_store_resets"


def _jobs_family() -> GaugeMetricFamily:
    return GaugeMetricFamily(
        JOBS, "Jobs in the job store by status (all processes).", labels=["status"]
    )


def _queue_family() -> GaugeMetricFamily:
    return GaugeMetricFamily(
        QUEUE_PENDING,
        "Tasks waiting in the job queue; a cancelled job's task counts until a worker skips it.",
    )


def _durability_families() -> tuple[GaugeMetricFamily, CounterMetricFamily]:
    return (
        GaugeMetricFamily(
            STORE_PERSISTENT,
            "1 when the job store survives a restart of its server, 0 when it does not "
            "(a Redis without appendonly or snapshots).",
        ),
        CounterMetricFamily(
            STORE_RESETS,
            "Times this process found the job store emptied (every earlier job lost).",
        ),
    )


class JobMetrics(Collector):
    """A collector for the app's registry: jobs by status, queue depth, store durability."""

    def __init__(self, backend: JobBackend, health: BackendHealth) -> None:
        self._backend = backend
        self._health = health
        self._failing: set[str] = set()  # sources whose outage was logged
        self._lock = threading.Lock()  # scrapes may run in several threads at once

    def describe(self) -> list[Metric]:
        """The families without values, so registering checks names but reads nothing."""
        return [_jobs_family(), _queue_family(), *_durability_families()]

    def collect(self) -> Iterator[Metric]:
        counts = self._read(JOBS, "job store", self._backend.store.count_by_status)
        if counts is not None:
            jobs = _jobs_family()
            for status in JOB_STATUSES:
                jobs.add_metric([status], counts[status])
            yield jobs
        pending = self._read(QUEUE_PENDING, "job queue", self._backend.queue.pending_count)
        if pending is not None:
            queue = _queue_family()
            queue.add_metric([], pending)
            yield queue
        persistent, resets = _durability_families()
        if self._health.persistent is not None:
            persistent.add_metric([], 1 if self._health.persistent else 0)
            yield persistent
        resets.add_metric([], self._health.resets)
        yield resets

    def _read(self, series: str, source: str, read: Callable[[], T]) -> T | None:
        """``read()``, or None (logged once per outage) when it raises: a scrape never fails."""
        try:
            value = read()
        except Exception as exc:
            with self._lock:
                first = source not in self._failing
                self._failing.add(source)
            if first:  # Store/QueueUnavailableError are ConnectionErrors: no traceback needed
                logger.warning(
                    "/metrics: %s skipped, the %s failed: %s",
                    series,
                    source,
                    exc,
                    exc_info=not isinstance(exc, ConnectionError),
                )
            return None
        with self._lock:
            recovered = source in self._failing
            self._failing.discard(source)
        if recovered:
            logger.info("/metrics: the %s answers again", source)
        return value
