"""Where job records live: one interface, a SQLite and a Redis implementation.

Every state change is a read-modify-write of one record under the backend's transaction
(``_update``), so the API, any number of workers and the reapers can race on a job and
the first valid transition wins: a cancel cannot be lost under a progress write, and a
job finished by its worker is never failed afterwards by a reaper.

A finished status (succeeded, failed, cancelled) is final, with one exception: a job the
reaper gave up on (``worker-lost``) takes the outcome its worker records if that worker
was alive after all, because a job's recorded outcome is its true outcome. Purging old
finished records (:meth:`JobStore.purge_finished`) races nothing that matters: at worst
a long-lost worker finds its record gone and drops what it had.

The public surface for other modules (routes, figures) is :meth:`JobStore.get`,
:meth:`JobStore.list_jobs`, :meth:`JobStore.get_request` and :meth:`JobStore.get_trajectory`;
/metrics reads :meth:`JobStore.count_by_status`.

The storage primitives and the transitions built on them stay in this one module (a
little over 300 lines) on purpose: the rules of the job lifecycle read in one place, and
no backend can implement a transition differently from the others.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import numpy as np

from core.training import Trajectory
from service.jobs.models import (
    ACTIVE_STATUSES,
    JobProgress,
    JobRecord,
    JobResult,
    JobStatus,
    problem,
    utcnow,
)
from service.jobs.store.feed import ChangeFeed, NoFeed


class JobNotFoundError(LookupError):
    """No job has this id."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"no job with id {job_id!r}")
        self.job_id = job_id


class StoreUnavailableError(ConnectionError):
    """The store's backend (Redis server, SQLite file) does not answer."""


class StoreFullError(StoreUnavailableError):
    """The store answers but cannot write: its disk (or Redis's memory) is full."""


class Beat(enum.Enum):
    """What a worker learns from its heartbeat."""

    CONTINUE = "continue"
    CANCEL = "cancel"  # a DELETE asked the job to stop
    ABANDON = "abandon"  # the job is no longer this worker's (requeued, ended or purged)


def encode_trajectory(trajectory: Trajectory) -> bytes:
    """Three float64 rows (wx, wrec, loss) as little-endian bytes."""
    rows = np.stack([trajectory.wx, trajectory.wrec, trajectory.loss])
    return rows.astype("<f8").tobytes()


def decode_trajectory(data: bytes) -> Trajectory:
    rows = np.frombuffer(data, dtype="<f8").reshape(3, -1)
    return Trajectory(wx=rows[0], wrec=rows[1], loss=rows[2])


Mutation = Callable[[JobRecord], JobRecord | None]
"""Gets the current record, returns the new one, or None to leave it unchanged."""


class JobStore(abc.ABC):
    """Job records and their trajectories; subclasses supply storage, this class the rules."""

    # -- storage primitives, one set per backend --------------------------------------
    @abc.abstractmethod
    def ping(self) -> None:
        """Raise StoreUnavailableError unless the backend answers."""

    @abc.abstractmethod
    def create(self, record: JobRecord, request: str) -> None:
        """Add a new record and its request (JSON, kept apart: it may hold a whole dataset)."""

    @abc.abstractmethod
    def get_request(self, job_id: str) -> str:
        """The JSON request a job was submitted with; JobNotFoundError if there is none."""

    @abc.abstractmethod
    def get(self, job_id: str) -> JobRecord:
        """The record of ``job_id``; JobNotFoundError if there is none."""

    @abc.abstractmethod
    def list_jobs(
        self, *, status: JobStatus | None = None, limit: int = 50, before: str | None = None
    ) -> list[JobRecord]:
        """Up to ``limit`` records, newest first, with ids below ``before`` if given."""

    @abc.abstractmethod
    def count(self, status: JobStatus) -> int:
        """How many jobs are in ``status``."""

    @abc.abstractmethod
    def count_by_status(self) -> dict[JobStatus, int]:
        """How many jobs are in each status (every status, zeros included), in one read."""

    @abc.abstractmethod
    def delete(self, job_id: str) -> None:
        """Forget a job (used when enqueueing it failed, so no client ever saw it)."""

    @abc.abstractmethod
    def purge_finished(self, finished_before: datetime, limit: int) -> int:
        """Delete up to ``limit`` finished jobs that ended before ``finished_before``.

        Oldest first, each with its request and trajectories, in one transaction; returns
        how many records were deleted (fewer than ``limit``: nothing older is left, or
        another process purged the same ones at the same time).
        """

    @abc.abstractmethod
    def put_trajectories(self, job_id: str, trajectories: Sequence[Trajectory]) -> None:
        """Keep the trajectories of a finished job, one per start."""

    @abc.abstractmethod
    def get_trajectory(self, job_id: str, start: int = 0) -> Trajectory | None:
        """The trajectory of one start, or None if the job recorded none."""

    @abc.abstractmethod
    def _update(self, job_id: str, mutate: Mutation) -> JobRecord | None:
        """Apply ``mutate`` atomically; return the stored new record, or None if unchanged."""

    @abc.abstractmethod
    def epoch(self) -> str:
        """The store's identity: made when the store is new, kept until it is emptied.

        A different value than before means every job recorded before is gone (a Redis
        without persistence restarted, a flush, a deleted file).
        """

    def durability_warning(self) -> str | None:
        """Why records might not survive a restart of the store's server (None: they will)."""
        return None

    def change_feed(self) -> ChangeFeed:
        """How the API hears of changes to jobs sooner than by reading them (none here)."""
        return NoFeed()

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    # -- the transitions, shared by every backend --------------------------------------
    def start(self, job_id: str, worker: str) -> JobRecord | None:
        """queued -> running for ``worker``; None if the job is no longer queued."""
        now = utcnow()

        def mutate(job: JobRecord) -> JobRecord | None:
            if job.status != "queued":
                return None
            return job.model_copy(
                update={
                    "status": "running",
                    "started_at": now,
                    "heartbeat_at": now,
                    "worker": worker,
                    "attempts": job.attempts + 1,
                }
            )

        return self._update(job_id, mutate)

    def requeue(
        self,
        job_id: str,
        progress: JobProgress,
        only_if: Callable[[JobRecord], bool] | None = None,
        *,
        refund: bool = False,
    ) -> JobRecord | None:
        """running -> queued (its worker stopped or was lost); None if it is not running.

        ``only_if`` adds a condition checked inside the transaction (the reaper requeues
        a job only while its heartbeat is still the one it judged stale). ``refund``: the
        worker stopped on purpose (SIGTERM), so this start does not count as an attempt.
        """

        def mutate(job: JobRecord) -> JobRecord | None:
            if job.status != "running" or (only_if is not None and not only_if(job)):
                return None
            return job.model_copy(
                update={
                    "status": "queued",
                    "started_at": None,
                    "heartbeat_at": None,
                    "worker": None,
                    "progress": progress,
                    "attempts": job.attempts - 1 if refund else job.attempts,
                }
            )

        return self._update(job_id, mutate)

    def beat(
        self, job_id: str, worker: str, attempt: int, progress: JobProgress | None = None
    ) -> Beat:
        """Refresh a running job's heartbeat (and progress), and say whether to go on.

        The worker stops when a cancel was asked; it abandons the job when the job is no
        longer its own: requeued or ended by a reaper that judged it lost, or purged.
        """
        now = utcnow()
        verdict = Beat.CONTINUE

        def mutate(job: JobRecord) -> JobRecord | None:
            nonlocal verdict
            if job.status != "running" or (job.worker, job.attempts) != (worker, attempt):
                verdict = Beat.ABANDON
                return None
            verdict = Beat.CANCEL if job.cancel_requested else Beat.CONTINUE
            update: dict[str, Any] = {"heartbeat_at": now}
            if progress is not None:
                update["progress"] = progress
            return job.model_copy(update=update)

        try:
            self._update(job_id, mutate)
        except JobNotFoundError:  # purged: it was ended (by a reaper) long ago
            return Beat.ABANDON
        return verdict

    def finish(
        self,
        job_id: str,
        status: JobStatus,
        *,
        result: JobResult | None = None,
        error: dict[str, Any] | None = None,
        progress: JobProgress | None = None,
        n_trajectories: int = 0,
        trajectory_error: str | None = None,
        only_if: Callable[[JobRecord], bool] | None = None,
        over_lost: bool = False,
    ) -> JobRecord | None:
        """An active job -> ``status`` (succeeded, failed, cancelled); None if it had ended.

        ``only_if`` adds a condition checked inside the transaction (the reaper uses it to
        fail a job only while its heartbeat is still stale). ``over_lost``: the job's own
        worker reports its end, which also replaces a reaper's ``worker-lost`` verdict.
        """
        now = utcnow()

        def mutate(job: JobRecord) -> JobRecord | None:
            active = job.status in ACTIVE_STATUSES or (over_lost and job.lost)
            if not active or (only_if is not None and not only_if(job)):
                return None
            update: dict[str, Any] = {
                "status": status,
                "finished_at": now,
                "result": result,
                "error": error,
                "n_trajectories": n_trajectories,
                "trajectory_error": trajectory_error,
            }
            if progress is not None:
                update["progress"] = progress
            return job.model_copy(update=update)

        return self._update(job_id, mutate)

    def request_cancel(self, job_id: str) -> JobRecord:
        """Cancel: a queued job ends at once, a running one is flagged for its worker.

        Returns the record after the change; a finished job comes back unchanged (the
        caller answers 409).
        """
        now = utcnow()

        def mutate(job: JobRecord) -> JobRecord | None:
            if job.status == "queued":
                detail = "the job was cancelled by a DELETE request before it started"
                return job.model_copy(
                    update={
                        "status": "cancelled",
                        "finished_at": now,
                        "cancel_requested": True,
                        "error": problem("cancelled", "Cancelled", 409, detail),
                    }
                )
            if job.status == "running" and not job.cancel_requested:
                return job.model_copy(update={"cancel_requested": True})
            return None

        updated = self._update(job_id, mutate)
        return updated if updated is not None else self.get(job_id)

    def running(self) -> list[JobRecord]:
        return self._all_with_status("running")

    def queued(self) -> list[JobRecord]:
        return self._all_with_status("queued")

    def _all_with_status(self, status: JobStatus) -> list[JobRecord]:
        jobs: list[JobRecord] = []
        before: str | None = None
        while True:
            page = self.list_jobs(status=status, limit=500, before=before)
            jobs.extend(page)
            if len(page) < 500:
                return jobs
            before = page[-1].id
