"""The reaper: jobs whose worker vanished end ``failed`` instead of waiting forever.

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
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from service.jobs.backend import JobBackend
from service.jobs.models import JobRecord, problem, utcnow

logger = logging.getLogger("rnnlab.reaper")


class Reaper:
    """One ``reap()`` per pass; remembers the queued jobs it suspects between passes."""

    def __init__(self, backend: JobBackend, heartbeat_timeout: float) -> None:
        self._backend = backend
        self._timeout = heartbeat_timeout
        self._suspects: set[str] = set()

    def reap(self) -> list[JobRecord]:
        """Fail the jobs whose worker is gone; returns them."""
        return self._reap_running() + self._reap_queued()

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
            done = store.finish(job.id, **self._ending(job, detail), only_if=still_stale)
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
                done = store.finish(
                    job.id, **self._ending(job, detail), only_if=lambda j: j.status == "queued"
                )
                if done is not None:
                    logger.warning("job %s: %s", job.id, detail)
                    reaped.append(done)
        self._suspects = missing
        return reaped

    @staticmethod
    def _ending(job: JobRecord, detail: str) -> dict[str, Any]:
        if job.cancel_requested:
            return {
                "status": "cancelled",
                "error": problem("cancelled", "Cancelled", 409, f"cancelled; {detail}"),
            }
        return {"status": "failed", "error": problem("worker-lost", "Worker Lost", 500, detail)}
