"""A running job's link to the world while core trains: heartbeat, progress, cancel, deadline.

The training loop stays fast because its callback only stores the latest progress and
reads a few flags; the monitor's thread does the I/O every ``TICK`` seconds: it writes the
progress with the heartbeat, learns from the store whether the job was cancelled or taken
from this worker, and notices when the worker's consumer process is gone. The callback
then ends training with the matching exception, which the runner maps to the job's end.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from core.training import Progress
from service.jobs.models import JobProgress, JobRecord
from service.jobs.store.base import Beat, JobStore, StoreUnavailableError
from service.jobs.worker.training import progress_of

__all__ = [
    "TICK",
    "JobAbandonedError",
    "JobCancelledError",
    "JobMonitor",
    "JobTimeoutError",
    "WorkerOrphanedError",
]

logger = logging.getLogger("rnnlab.jobs")

TICK = 0.2  # seconds between progress/heartbeat writes and cancel checks


class JobCancelledError(Exception):
    """A DELETE asked the running job to stop."""


class JobTimeoutError(Exception):
    """The job ran longer than ``job_timeout``."""


class WorkerOrphanedError(Exception):
    """The consumer process that started this worker is gone."""


class JobAbandonedError(Exception):
    """The job is no longer this worker's: a reaper requeued or ended it."""


class JobMonitor:
    """The job's link to the world while core trains: heartbeat, progress, cancel, deadline."""

    def __init__(
        self,
        store: JobStore,
        record: JobRecord,
        worker: str,
        timeout: float,
        consumer_pid: int | None,
    ) -> None:
        self._store = store
        self._consumer = consumer_pid
        self._job_id = record.id
        self._deadline = time.monotonic() + timeout
        self._latest: Progress | None = None
        self._written: Progress | None = None
        self._cancel = threading.Event()
        self._abandon = threading.Event()
        self._orphaned = threading.Event()
        self._claim = (worker, record.attempts)
        self._outage = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"job-{record.id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def callback(self, progress: Progress) -> None:
        """Called by core every iteration: keep it to a few attribute reads."""
        self._latest = progress
        if self._abandon.is_set():
            raise JobAbandonedError
        if self._cancel.is_set():
            raise JobCancelledError
        if self._orphaned.is_set():
            raise WorkerOrphanedError
        if time.monotonic() > self._deadline:
            raise JobTimeoutError

    @property
    def abandoned(self) -> bool:
        return self._abandon.is_set()

    def progress(self) -> JobProgress | None:
        latest = self._latest
        return None if latest is None else progress_of(latest)

    def _run(self) -> None:
        consumer = self._consumer
        while not self._stop.wait(TICK):
            latest = self._latest
            try:
                progress = self.progress() if latest is not self._written else None
                beat = self._store.beat(self._job_id, *self._claim, progress)
                self._written = latest
                if self._outage:
                    logger.info("job %s: heartbeats written again", self._job_id)
                    self._outage = False
                if beat is Beat.CANCEL:
                    self._cancel.set()
                elif beat is Beat.ABANDON:
                    self._abandon.set()
            except StoreUnavailableError as exc:
                if not self._outage:  # once per outage, not every tick
                    logger.warning("job %s: heartbeats not written: %s", self._job_id, exc)
                    self._outage = True
            except Exception:  # never let the heartbeat die with the job still running
                logger.exception("job %s: monitor pass failed", self._job_id)
            if consumer is not None and os.getppid() != consumer:
                self._orphaned.set()
