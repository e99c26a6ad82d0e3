"""Helpers for the training-job tests: a worker in the test process."""

from __future__ import annotations

import threading

from service.jobs.backend import JobBackend
from service.jobs.models import JobRecord
from service.jobs.schemas import TrainRequest
from service.jobs.service import JobService
from tests._processes import wait_until

__all__ = ["InlineWorker", "ended", "submit", "wait_until"]


class InlineWorker:
    """Runs queued tasks in a thread of the test process (no consumer, no signals)."""

    def __init__(self, backend: JobBackend) -> None:
        self._huey = backend.queue.huey
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> InlineWorker:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            task = self._huey.dequeue()
            if task is None:
                self._stop.wait(0.01)
            else:
                self._huey.execute(task)


def submit(jobs: JobService, **body: object) -> JobRecord:
    """A job as POST /train would submit it."""
    return jobs.submit(TrainRequest.model_validate(body))


def ended(jobs: JobService, job_id: str, timeout: float = 30) -> JobRecord:
    """The job once it has ended (polled, with a deadline)."""
    return wait_until(lambda: (job := jobs.get(job_id)).finished and job, timeout)
