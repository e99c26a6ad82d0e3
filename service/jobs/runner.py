"""Running one job inside a worker: claim it, train with a watchful callback, record the end.

The training loop stays fast because its callback only stores the latest progress and
reads three flags; a monitor thread does the I/O every ``TICK`` seconds: it writes the
progress and the heartbeat, reads the cancel flag, and notices when the worker's consumer
process is gone. Every way a job can end maps to one final transition:

- training returns: ``succeeded`` with result and trajectories;
- DELETE: ``cancelled`` (seen within one tick, so well under a second);
- wall time over ``job_timeout``: ``failed`` with a timeout problem;
- bad input the API could not see (e.g. a dataset deleted meanwhile): ``failed`` with it;
- the worker is stopped (SIGTERM/SIGINT) or orphaned: back to ``queued`` and re-enqueued,
  so another worker, or this one after a restart, runs it again from the start.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from core.errors import InvalidInputError
from core.training import Progress, Trajectory
from service.config import Settings
from service.datasets import DatasetRegistry
from service.errors import ServiceError, field_to_loc
from service.jobs.models import JobProgress, JobRecord, JobResult, JobStatus, problem
from service.jobs.queue import JobQueue
from service.jobs.store import JobNotFoundError, JobStore, StoreUnavailableError
from service.jobs.training import progress_of, run_training
from service.schemas.jobs import TrainRequest

logger = logging.getLogger("rnnlab.jobs")

TICK = 0.2  # seconds between progress/heartbeat writes and cancel checks
MAX_ATTEMPTS = 3  # a job interrupted this often (its worker keeps dying) is failed


class JobCancelledError(Exception):
    """A DELETE asked the running job to stop."""


class JobTimeoutError(Exception):
    """The job ran longer than ``job_timeout``."""


class WorkerOrphanedError(Exception):
    """The consumer process that started this worker is gone."""


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
    if record.attempts > MAX_ATTEMPTS:
        detail = f"the job's worker stopped {MAX_ATTEMPTS} times before it finished; giving up"
        ctx.store.finish(job_id, "failed", error=problem("worker-lost", "Worker Lost", 500, detail))
        return
    logger.info("job %s: running (attempt %d)", job_id, record.attempts)
    monitor = _Monitor(ctx, record)
    monitor.start()
    try:
        ending = _train(ctx, record, monitor)
    except (WorkerOrphanedError, KeyboardInterrupt) as exc:
        monitor.stop()
        _requeue(ctx, record)
        if isinstance(exc, KeyboardInterrupt):
            raise  # huey logs the interrupted task and the worker exits
        return
    finally:
        monitor.stop()
    if ending.trajectories:
        ctx.store.put_trajectories(job_id, ending.trajectories)
    try:
        _finish(ctx, job_id, ending, monitor.progress())
    except JobNotFoundError:  # a reaper ended it meanwhile, and the retention purged it
        ctx.store.delete(job_id)  # drop the trajectories just written: nothing refers to them
        logger.warning("job %s: its record was purged before it finished", job_id)
        return
    logger.info("job %s: %s", job_id, ending.status)


def _train(ctx: WorkerContext, record: JobRecord, monitor: _Monitor) -> _Ending:
    """Train, and say how the job ends; only a stopping worker escapes as an exception."""
    try:
        request = TrainRequest.model_validate_json(ctx.store.get_request(record.id))
        dataset = ctx.datasets.resolve(request)
        outcome = run_training(request, dataset, monitor.callback)
    except WorkerOrphanedError:
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
    except InvalidInputError as exc:
        error = problem("validation-error", "Invalid Input", 422, f"{exc.field}: {exc.message}")
        error["errors"] = [{"loc": ["body", *field_to_loc(exc.field)], "msg": exc.message}]
        return _Ending("failed", error=error)
    except Exception as exc:
        logger.exception("job %s: training raised", record.id)
        detail = f"training raised {type(exc).__name__}: {exc}"
        return _Ending("failed", error=problem("job-error", "Job Error", 500, detail))
    return _Ending("succeeded", result=outcome.result, trajectories=outcome.trajectories)


def _finish(ctx: WorkerContext, job_id: str, ending: _Ending, progress: JobProgress | None) -> None:
    """The final transition, retried for a while if the store is briefly unreachable."""
    deadline = time.monotonic() + 30
    while True:
        try:
            ctx.store.finish(
                job_id,
                ending.status,
                result=ending.result,
                error=ending.error,
                progress=progress,
                n_trajectories=len(ending.trajectories),
            )
            return
        except StoreUnavailableError:
            if time.monotonic() > deadline:
                logger.exception("job %s: could not record its end (%s)", job_id, ending.status)
                return
            time.sleep(1)


def _requeue(ctx: WorkerContext, record: JobRecord) -> None:
    """Hand the job back to the queue: this worker is stopping before it could finish.

    ``record`` is the job as claimed, so its progress is the untouched initial one.
    """
    try:
        if ctx.store.requeue(record.id, record.progress) is not None:
            ctx.queue.enqueue(record.id)
            logger.warning("job %s: worker stopping, job put back in the queue", record.id)
    except Exception:  # the reaper fails it later if this did not get through
        logger.exception("job %s: could not requeue", record.id)


class _Monitor:
    """The job's link to the world while core trains: heartbeat, progress, cancel, deadline."""

    def __init__(self, ctx: WorkerContext, record: JobRecord) -> None:
        self._ctx = ctx
        self._job_id = record.id
        self._deadline = time.monotonic() + ctx.settings.job_timeout
        self._latest: Progress | None = None
        self._written: Progress | None = None
        self._cancel = threading.Event()
        self._orphaned = threading.Event()
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
        if self._cancel.is_set():
            raise JobCancelledError
        if self._orphaned.is_set():
            raise WorkerOrphanedError
        if time.monotonic() > self._deadline:
            raise JobTimeoutError

    def progress(self) -> JobProgress | None:
        latest = self._latest
        return None if latest is None else progress_of(latest)

    def _run(self) -> None:
        consumer = self._ctx.consumer_pid
        while not self._stop.wait(TICK):
            latest = self._latest
            try:
                progress = self.progress() if latest is not self._written else None
                if self._ctx.store.beat(self._job_id, progress):
                    self._cancel.set()
                self._written = latest
            except StoreUnavailableError as exc:
                logger.warning("job %s: heartbeat not written: %s", self._job_id, exc)
            except Exception:  # never let the heartbeat die with the job still running
                logger.exception("job %s: monitor pass failed", self._job_id)
            if consumer is not None and os.getppid() != consumer:
                self._orphaned.set()
