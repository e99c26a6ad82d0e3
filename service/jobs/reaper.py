"""The reaper: jobs whose worker vanished end ``failed``; old finished jobs are purged.

huey has no acknowledgements: a worker killed with SIGKILL takes its task with it, and
nothing is left to say so. Two symptoms are checked every ``reaper_interval`` seconds:

- a ``running`` job whose heartbeat (written every 0.2 s while it trains) is older than
  ``heartbeat_timeout``: its worker is gone. Bound: failed within heartbeat_timeout +
  reaper_interval of the worker's death (12 s with the defaults).
- a ``queued`` job older than ``heartbeat_timeout`` whose task is no longer in the queue
  on two passes in a row (a worker took the task and died before starting it, or the
  queue was flushed). Two passes, because between a worker's pop and its ``start`` the
  task is briefly in neither place.

Reapers run in every API process; they race safely, because each failure is a
conditional transition (only while the job is still in the state that was judged).
A job whose cancel was requested ends ``cancelled`` instead of ``failed``.

With ``job_retention_seconds`` > 0, each pass also deletes finished jobs (with their
requests and trajectories) that ended longer ago than that, oldest first, in transactions
of ``PURGE_BATCH`` and at most ``PURGE_BATCHES`` of them per pass: a backlog (retention
just switched on) drains over a few passes instead of holding the store's write lock, or
this thread, long enough to delay the detection of lost workers. Racing purges in several
API processes are harmless: a finished record never changes, deleting it twice is a no-op.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from service.jobs.backend import JobBackend
from service.jobs.models import JobRecord, problem, utcnow
from service.jobs.store import JobNotFoundError

logger = logging.getLogger("rnnlab.reaper")

PURGE_BATCH = 100  # finished jobs deleted per transaction (trajectories can be large)
PURGE_BATCHES = 10  # transactions per pass: at most 1,000 jobs per reaper_interval


class Reaper:
    """One ``reap()`` and one ``purge()`` per pass; remembers suspect queued jobs between passes.

    ``retention`` is ``job_retention_seconds``: 0 keeps finished jobs forever.
    """

    def __init__(
        self, backend: JobBackend, heartbeat_timeout: float, retention: float = 0.0
    ) -> None:
        self._backend = backend
        self._timeout = heartbeat_timeout
        self._retention = retention
        self._suspects: set[str] = set()

    def reap(self) -> list[JobRecord]:
        """Fail the jobs whose worker is gone; returns them."""
        return self._reap_running() + self._reap_queued()

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
        store = self._backend.store
        cutoff = utcnow() - timedelta(seconds=self._timeout)

        def still_stale(job: JobRecord) -> bool:
            return job.status == "running" and (
                job.heartbeat_at is None or job.heartbeat_at < cutoff
            )

        reaped = []
        for job in store.stale_running(cutoff):
            seen = job.heartbeat_at or job.started_at or job.created_at
            silence = (utcnow() - seen).total_seconds()
            detail = (
                f"worker {job.worker} stopped sending heartbeats {silence:.1f} s ago "
                f"(limit heartbeat_timeout={self._timeout:g} s): it was killed or lost "
                "its connection; the job did not finish"
            )
            done = self._finish(job, detail, only_if=still_stale)
            if done is not None:
                logger.warning("job %s: %s", job.id, detail)
                reaped.append(done)
        return reaped

    def _reap_queued(self) -> list[JobRecord]:
        store = self._backend.store
        cutoff = utcnow() - timedelta(seconds=self._timeout)
        pending = self._backend.queue.pending_job_ids()  # read the queue before the store
        old = [job for job in store.queued() if job.created_at < cutoff]
        missing = {job.id for job in old if job.id not in pending}
        reaped = []
        for job in old:
            if job.id in missing and job.id in self._suspects:
                detail = (
                    "the job's task is no longer in the queue but no worker started it "
                    "(a worker died while taking it, or the queue was flushed)"
                )
                done = self._finish(job, detail, only_if=lambda j: j.status == "queued")
                if done is not None:
                    logger.warning("job %s: %s", job.id, detail)
                    reaped.append(done)
        self._suspects = missing
        return reaped

    def _finish(
        self, job: JobRecord, detail: str, only_if: Callable[[JobRecord], bool]
    ) -> JobRecord | None:
        """End ``job`` as lost, if ``only_if`` still holds; None if it ended (or went) meanwhile."""
        try:
            return self._backend.store.finish(job.id, **self._ending(job, detail), only_if=only_if)
        except JobNotFoundError:  # ended by its worker and purged since it was listed
            return None

    @staticmethod
    def _ending(job: JobRecord, detail: str) -> dict[str, Any]:
        if job.cancel_requested:
            return {
                "status": "cancelled",
                "error": problem("cancelled", "Cancelled", 409, f"cancelled; {detail}"),
            }
        return {"status": "failed", "error": problem("worker-lost", "Worker Lost", 500, detail)}
