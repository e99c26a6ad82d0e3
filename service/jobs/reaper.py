"""The reaper: jobs whose worker vanished go back to the queue; old finished jobs are purged.

huey has no acknowledgements: a worker killed with SIGKILL takes its task with it, and
nothing is left to say so. So the reaper watches the job store, as a visibility timeout
would, with its own clock (``clock``, monotonic; tests inject one):

- a ``running`` job whose heartbeat (written every 0.2 s while it runs) has not changed
  for ``heartbeat_timeout`` seconds of the reaper's own observation is lost. It is put
  back in the queue and run again, up to ``MAX_ATTEMPTS`` starts; after that it ends
  ``failed: worker-lost`` (a job that keeps killing its worker must not loop forever),
  or ``cancelled`` if a cancel was asked. Bound: a dead worker's job is requeued within
  heartbeat_timeout + 2 x reaper_interval (14 s with the defaults).
- a ``queued`` job whose task has been missing from the queue for ``heartbeat_timeout``
  seconds (a worker took the task and died before starting it, the queue was flushed, or
  a requeue did not reach it) is enqueued again.

Silence is measured from when the reaper first saw a heartbeat value, never by comparing
timestamps with the wall clock: a store that was unreachable for a while (the reaper
then saw nothing) or a reaper that just started cannot mistake every worker for dead.
After a pass that failed, every observation starts over.

Several reapers (one per API process) race safely: each transition is conditional on
the job still being as judged (same status and heartbeat), and enqueueing a job twice is
harmless (only one ``queued -> running`` transition succeeds).

With ``job_retention_seconds`` > 0, each pass also deletes finished jobs (with their
requests and trajectories) that ended longer ago than that, oldest first, in transactions
of ``PURGE_BATCH`` and at most ``PURGE_BATCHES`` per pass, so that a backlog drains over
a few passes instead of holding the store's write lock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from service.jobs.backend import JobBackend
from service.jobs.models import JobRecord, JobStatus, problem, utcnow
from service.jobs.store.base import JobNotFoundError

logger = logging.getLogger("rnnlab.reaper")

MAX_ATTEMPTS = 3  # starts of one job before a lost worker fails it
PURGE_BATCH = 100  # finished jobs deleted per transaction (trajectories can be large)
PURGE_BATCHES = 10  # transactions per pass: at most 1,000 jobs per reaper_interval


class Reaper:
    """One ``reap()`` and one ``purge()`` per pass; remembers what it saw between passes.

    ``retention`` is ``job_retention_seconds``: 0 keeps finished jobs forever.
    """

    def __init__(
        self,
        backend: JobBackend,
        heartbeat_timeout: float,
        retention: float = 0.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._backend = backend
        self._timeout = heartbeat_timeout
        self._retention = retention
        self._clock = clock
        self._beats: dict[str, tuple[datetime | None, float]] = {}  # id -> (beat, seen since)
        self._missing: dict[str, float] = {}  # queued id -> seen without a task since

    def forget(self) -> None:
        """Drop every observation (after a pass that could not read the backend)."""
        self._beats.clear()
        self._missing.clear()

    def reap(self) -> list[JobRecord]:
        """Requeue (or end) running jobs whose worker is gone; re-enqueue lost tasks.

        Returns the records that changed. Raises what the backend raises, after
        forgetting everything observed so far.
        """
        try:
            return self._reap_running() + self._reap_queued()
        except Exception:
            self.forget()
            raise

    def purge(self) -> int:
        """Delete finished jobs older than the retention (at most one pass's worth); how many."""
        if self._retention <= 0:
            return 0
        cutoff = utcnow() - timedelta(seconds=self._retention)
        purged = 0
        for _ in range(PURGE_BATCHES):
            deleted = self._backend.store.purge_finished(cutoff, PURGE_BATCH)
            purged += deleted
            if deleted < PURGE_BATCH:
                break
        if purged:
            logger.debug("purged %d jobs that finished over %g s ago", purged, self._retention)
        return purged

    def _reap_running(self) -> list[JobRecord]:
        now = self._clock()
        beats: dict[str, tuple[datetime | None, float]] = {}
        lost: list[tuple[JobRecord, float]] = []
        for job in self._backend.store.running():
            beat, since = self._beats.get(job.id, (job.heartbeat_at, now))
            if beat != job.heartbeat_at:  # it beat since the last pass: alive
                beat, since = job.heartbeat_at, now
            beats[job.id] = (beat, since)
            if now - since >= self._timeout:
                lost.append((job, now - since))
        self._beats = beats
        return [done for job, silence in lost if (done := self._lost(job, silence)) is not None]

    def _lost(self, job: JobRecord, silence: float) -> JobRecord | None:
        """Requeue a lost job, or end it when it has had its attempts or was cancelled."""
        store, beat = self._backend.store, job.heartbeat_at

        def unchanged(current: JobRecord) -> bool:
            return current.status == "running" and current.heartbeat_at == beat

        why = (
            f"worker {job.worker} sent no heartbeat for {silence:.1f} s "
            f"(heartbeat_timeout={self._timeout:g} s): it was killed or lost its connection"
        )
        try:
            if job.cancel_requested or job.attempts >= MAX_ATTEMPTS:
                status, error = self._ending(job, why)
                done = store.finish(job.id, status, error=error, only_if=unchanged)
                if done is not None:
                    logger.warning("job %s ended %s: %s", job.id, done.status, why)
                return done
            progress = job.progress.model_copy(update={"iteration": 0, "loss": None})
            requeued = store.requeue(job.id, progress, only_if=unchanged)
        except JobNotFoundError:  # ended by its worker and purged since it was listed
            return None
        if requeued is not None:
            self._backend.queue.enqueue(job.id)
            logger.warning(
                "job %s put back in the queue (attempt %d of %d): %s",
                job.id,
                job.attempts,
                MAX_ATTEMPTS,
                why,
            )
        return requeued

    def _reap_queued(self) -> list[JobRecord]:
        now = self._clock()
        pending = self._backend.queue.pending_job_ids()  # read the queue before the store
        queued = [job for job in self._backend.store.queued() if job.id not in pending]
        self._missing = {job.id: self._missing.get(job.id, now) for job in queued}
        enqueued = []
        for job in queued:
            if now - self._missing[job.id] >= self._timeout:
                self._backend.queue.enqueue(job.id)
                del self._missing[job.id]
                logger.warning("job %s was queued without a task; enqueued it again", job.id)
                enqueued.append(job)
        return enqueued

    @staticmethod
    def _ending(job: JobRecord, why: str) -> tuple[JobStatus, dict[str, Any]]:
        if job.cancel_requested:
            return "cancelled", problem("cancelled", "Cancelled", 409, f"cancelled; {why}")
        detail = f"{why}; the job was started {job.attempts} times without finishing"
        return "failed", problem("worker-lost", "Worker Lost", 500, detail)
