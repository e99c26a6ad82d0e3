"""Running one job inside a worker: claim it, train with a watchful callback, record the end.

While core trains, a ``service.jobs.worker.monitor.JobMonitor`` links the job to the
world (heartbeat, progress, cancel, deadline). Every way a job can end maps to one final
transition:

- training returns: ``succeeded`` with result and trajectories;
- DELETE: ``cancelled`` (seen within one tick, so well under a second);
- wall time over ``job_timeout``: ``failed`` with a timeout problem;
- bad input the API could not see (e.g. a dataset deleted meanwhile): ``failed`` with it;
- the worker is stopped (SIGTERM/SIGINT) or orphaned: back to ``queued`` and re-enqueued,
  so another worker, or this one after a restart, runs it again from the start;
- the job stops being this worker's (a reaper requeued or ended it while this worker
  could not reach the store): the worker drops it without recording anything.

Recording the end is retried (backoff up to ``END_RETRY_MAX`` seconds between tries, for
up to ``end_record_timeout`` seconds) while the monitor keeps the heartbeat going, so an
outage of Redis or a full disk delays the record of a finished job but does not turn it
into a lost one. When the trajectories alone cannot be written (the disk stays full),
the job is recorded without them after ``TRAJECTORY_GIVE_UP`` seconds, saying why.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential,
)

from core.errors import InvalidInputError
from core.training import Trajectory
from service.config import Settings
from service.datasets.registry import DatasetRegistry
from service.errors import ServiceError, from_core
from service.jobs.models import JobRecord, JobResult, JobStatus, problem
from service.jobs.queue import JobQueue
from service.jobs.schemas import TrainRequest
from service.jobs.store.base import (
    JobNotFoundError,
    JobStore,
    StoreFullError,
    StoreUnavailableError,
)
from service.jobs.worker.monitor import (
    JobAbandonedError,
    JobCancelledError,
    JobMonitor,
    JobTimeoutError,
    WorkerOrphanedError,
)
from service.jobs.worker.training import run_training

logger = logging.getLogger("rnnlab.jobs")

END_RETRY_MAX = 5.0  # longest wait between two tries to record a job's end
TRAJECTORY_GIVE_UP = 60.0  # seconds of failed trajectory writes before recording without


@dataclass
class WorkerContext:
    """What a worker process needs to run jobs."""

    settings: Settings
    store: JobStore
    queue: JobQueue
    datasets: DatasetRegistry
    consumer_pid: int | None = None  # the worker's parent; None: do not watch it


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class _Ending:
    """The final transition of a job."""

    status: JobStatus
    result: JobResult | None = None
    error: dict[str, Any] | None = None
    trajectories: list[Trajectory] = field(default_factory=list)


def run_job(ctx: WorkerContext, job_id: str) -> None:
    """Run one job to its end (or put it back in the queue when this worker stops)."""
    try:
        record = ctx.store.start(job_id, worker_name())
    except JobNotFoundError:
        logger.warning("job %s: no record, skipping its task", job_id)
        return
    if record is None:  # cancelled while queued, or already run
        return
    logger.info("job %s: running (attempt %d)", job_id, record.attempts)
    monitor = JobMonitor(
        ctx.store,
        record,
        record.worker or worker_name(),
        ctx.settings.job_timeout,
        ctx.consumer_pid,
    )
    monitor.start()
    try:
        ending = _train(ctx, record, monitor)
        _record_end(ctx, job_id, ending, monitor)
    except (WorkerOrphanedError, KeyboardInterrupt) as exc:
        monitor.stop()
        _requeue(ctx, record)
        if isinstance(exc, KeyboardInterrupt):
            raise  # huey logs the interrupted task and the worker exits
        return
    except JobAbandonedError:
        logger.warning("job %s: taken from this worker (requeued or ended); dropped", job_id)
        return
    finally:
        monitor.stop()
    logger.info("job %s: %s", job_id, ending.status)


def _train(ctx: WorkerContext, record: JobRecord, monitor: JobMonitor) -> _Ending:
    """Train, and say how the job ends; only a stopping worker escapes as an exception."""
    try:
        request = TrainRequest.model_validate_json(ctx.store.get_request(record.id))
        dataset = ctx.datasets.resolve(request)
        outcome = run_training(request, dataset, monitor.callback)
    except (WorkerOrphanedError, JobAbandonedError):
        raise
    except JobCancelledError:
        detail = "the job was cancelled by a DELETE request"
        return _Ending("cancelled", error=problem("cancelled", "Cancelled", 409, detail))
    except JobTimeoutError:
        detail = (
            f"the job ran longer than job_timeout={ctx.settings.job_timeout:g} s "
            "(setting RNNLAB_JOB_TIMEOUT)"
        )
        return _Ending("failed", error=problem("timeout", "Timeout", 504, detail))
    except ServiceError as exc:  # e.g. its dataset was deleted after the job was accepted
        error = problem(exc.slug, exc.title, exc.status, exc.detail) | exc.extensions()
        return _Ending("failed", error=error)
    except InvalidInputError as exc:  # as POST /train would have answered it
        invalid = from_core(exc)
        error = problem(invalid.slug, invalid.title, invalid.status, invalid.detail)
        return _Ending("failed", error=error | invalid.extensions())
    except Exception as exc:
        logger.exception("job %s: training raised", record.id)
        detail = f"training raised {type(exc).__name__}: {exc}"
        return _Ending("failed", error=problem("job-error", "Job Error", 500, detail))
    return _Ending("succeeded", result=outcome.result, trajectories=outcome.trajectories)


def _record_end(ctx: WorkerContext, job_id: str, ending: _Ending, monitor: JobMonitor) -> None:
    """Store the trajectories, then the final transition, retrying through outages.

    Even a job a reaper requeued meanwhile is recorded: this worker has its true outcome
    (training is deterministic), and the worker that took it over is told to let go.
    Gives up (logging it) after ``end_record_timeout`` seconds; a reaper then runs the job
    again.
    """
    kept = _Kept(ending.trajectories)
    retrying = Retrying(
        retry=retry_if_exception_type(StoreUnavailableError),
        wait=wait_exponential(multiplier=0.2, max=END_RETRY_MAX),
        stop=stop_after_delay(ctx.settings.end_record_timeout),
        before_sleep=lambda state: kept.failed(job_id, state),
        reraise=True,
    )
    try:
        for attempt in retrying:
            with attempt:
                if kept.trajectories:
                    ctx.store.put_trajectories(job_id, kept.trajectories)
                ctx.store.finish(
                    job_id,
                    ending.status,
                    result=ending.result,
                    error=ending.error,
                    progress=monitor.progress(),
                    n_trajectories=len(kept.trajectories),
                    trajectory_error=kept.error,
                    over_lost=True,
                )
    except JobNotFoundError:  # a reaper ended it and the retention purged it meanwhile
        ctx.store.delete(job_id)  # drop trajectories written for nothing
        logger.warning("job %s: its record was purged before it finished", job_id)
    except StoreUnavailableError:
        logger.error(
            "job %s: could not record its end (%s) within end_record_timeout=%g s; "
            "a reaper will run it again",
            job_id,
            ending.status,
            ctx.settings.end_record_timeout,
        )
    else:
        if kept.first_failure is not None:
            logger.info("job %s: end recorded after the store came back", job_id)


@dataclass
class _Kept:
    """The trajectories still to be kept, and why they were dropped if they were."""

    trajectories: list[Trajectory]
    error: str | None = None
    first_failure: float | None = None  # monotonic time of the first failed try
    full_since: float | None = None  # ... of the first failure for a full store

    def failed(self, job_id: str, state: RetryCallState) -> None:
        """After a failed try: log the first, and drop the trajectories once the store
        has been full for ``TRAJECTORY_GIVE_UP`` seconds (the outcome matters more)."""
        exc = state.outcome.exception() if state.outcome is not None else None
        now = time.monotonic()
        if self.first_failure is None:
            self.first_failure = now
            logger.warning("job %s: cannot record its end yet (%s); retrying", job_id, exc)
        if not isinstance(exc, StoreFullError):
            return
        self.full_since = self.full_since or now
        if self.trajectories and now - self.full_since > TRAJECTORY_GIVE_UP:
            logger.error("job %s: recording it without its trajectories (%s)", job_id, exc)
            self.trajectories, self.error = [], f"not kept: the store was full ({exc})"


def _requeue(ctx: WorkerContext, record: JobRecord) -> None:
    """Hand the job back to the queue: this worker is stopping before it could finish.

    ``record`` is the job as claimed, so its progress is the untouched initial one.
    """
    try:
        if ctx.store.requeue(record.id, record.progress, refund=True) is not None:
            ctx.queue.enqueue(record.id)
            logger.warning("job %s: worker stopping, job put back in the queue", record.id)
    except Exception:  # the reaper fails it later if this did not get through
        logger.exception("job %s: could not requeue", record.id)
