"""The huey task a worker runs for a job, registered on the backend's queue.

The API registers the same task (so it can enqueue it by name) but never runs it; the
worker-side state (dataset registry, the consumer's pid to watch) is built on first use.
"""

from __future__ import annotations

import os
from typing import Any

from service.config import Settings
from service.datasets.registry import DatasetRegistry
from service.jobs.queue import JobQueue
from service.jobs.store.base import JobStore
from service.jobs.worker.runner import WorkerContext, run_job

CONSUMER_PID_ENV = "RNNLAB_CONSUMER_PID"


def register_tasks(store: JobStore, queue: JobQueue, settings: Settings) -> None:
    """Register the training task on ``queue``."""
    context: WorkerContext | None = None

    def train(job_id: str, task: Any = None) -> None:
        nonlocal context
        if context is None:
            context = WorkerContext(
                settings=settings,
                store=store,
                queue=queue,
                datasets=DatasetRegistry(settings),
                consumer_pid=_consumer_pid(),
            )
        run_job(context, job_id)

    queue.register(train)


def _consumer_pid() -> int | None:
    """The pid of the consumer that forked this worker (set by ``service.jobs.worker.consumer``)."""
    value = os.environ.get(CONSUMER_PID_ENV)
    pid = int(value) if value else None
    return None if pid == os.getpid() else pid  # thread workers run in the consumer itself
