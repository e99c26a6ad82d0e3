"""What the API does with jobs: validate and submit, read, list, cancel, wait, trajectories.

Every method is blocking (store and queue I/O; run it off the event loop) and raises the
service's domain errors, so routes stay thin: a missing job is ``NotFound``, a finished
job cannot be cancelled (``Conflict``), a full queue is ``QueueFull`` (429 with
Retry-After), an unreachable backend is ``BackendUnavailable`` (503).

A POST /train is checked completely before anything is stored or enqueued: the dataset
reference (existence and size limits), the optimizer and its hyperparameters (by core's
own ``make_optimizer``), the iteration, start and work limits (a ``starts_grid`` counts as
its nx x ny points, computed from the two sizes: the grid is only built by the worker).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import TypeVar

from core.optimizers import make_optimizer
from core.training import Trajectory
from service.analysis.schemas import WeightsOut
from service.config import Settings
from service.datasets.registry import DatasetRegistry
from service.datasets.schemas import DatasetData, DatasetSpec
from service.errors import (
    BackendUnavailable,
    Conflict,
    InsufficientStorage,
    InvalidInput,
    LimitExceeded,
    NotFound,
    QueueFull,
)
from service.jobs.backend import JobBackend
from service.jobs.ids import decode_cursor, is_job_id, new_job_id
from service.jobs.models import JobProgress, JobRecord, JobStatus, utcnow
from service.jobs.queue import QueueUnavailableError
from service.jobs.schemas import TrainRequest
from service.jobs.store.base import JobNotFoundError, StoreFullError, StoreUnavailableError

T = TypeVar("T")

RETRY_AFTER_FULL = 5  # seconds a client is told to wait when the queue is full
RETRY_AFTER_DOWN = 2  # ... and when the backend does not answer


@contextmanager
def backend_errors() -> Iterator[None]:
    """Store and queue failures as the service's errors (404 and 503)."""
    try:
        yield
    except JobNotFoundError as exc:
        raise NotFound(f"no job with id {exc.job_id!r}") from None
    except StoreFullError as exc:
        raise InsufficientStorage(
            f"the job store cannot write ({exc}); nothing was stored: retry once space is freed"
        ) from exc
    except (StoreUnavailableError, QueueUnavailableError) as exc:
        raise BackendUnavailable(
            f"the job backend does not answer: {exc}", retry_after=RETRY_AFTER_DOWN
        ) from exc


class JobService:
    """The API's side of training jobs."""

    def __init__(self, settings: Settings, backend: JobBackend, datasets: DatasetRegistry) -> None:
        self.settings = settings
        self.backend = backend
        self.datasets = datasets

    # -- submit --------------------------------------------------------------------------------
    def submit(self, request: TrainRequest) -> JobRecord:
        """Validate ``request`` completely, then store the job and enqueue it.

        Inline sequences are stored as a dataset (content-addressed, like ``POST
        /datasets``) and the job refers to it by id: job records stay small whatever the
        upload, and the dataset cannot be deleted while the job needs it.
        """
        self.validate(request)
        if isinstance(request.dataset, DatasetData):
            stored = self.datasets.create(request.dataset, ("body", "dataset"))
            request = request.model_copy(update={"dataset": None, "dataset_id": stored.id})
        record = JobRecord(
            id=new_job_id(),
            status="queued",
            created_at=utcnow(),
            progress=JobProgress(
                iteration=0,
                iterations=request.iterations,
                loss=None,
                weights=_first_start(request),
            ),
        )
        with backend_errors():
            queued = self.backend.store.count("queued")
            limit = self.settings.max_queued_jobs
            if queued >= limit:
                raise QueueFull(
                    f"{queued} jobs are waiting, the limit is max_queued_jobs={limit} "
                    "(setting RNNLAB_MAX_QUEUED_JOBS); retry later",
                    retry_after=RETRY_AFTER_FULL,
                )
            self.backend.store.create(record, request.model_dump_json(exclude_unset=True))
            try:
                self.backend.queue.enqueue(record.id)
            except QueueUnavailableError:
                self.backend.store.delete(record.id)  # never seen by anyone: no trace left
                raise
        return record

    def validate(self, request: TrainRequest) -> None:
        """Raise the error POST /train answers, or return when the job can run."""
        s = self.settings
        n_samples, longest = self.datasets.shape(request)  # NotFound, LimitExceeded
        spec = request.dataset
        if isinstance(spec, DatasetSpec) and spec.generator == "legacy" and spec.seed >= 2**32:
            raise InvalidInput(
                ("body", "dataset", "seed"), "the legacy generator takes seeds < 2**32"
            )
        make_optimizer(request.optimizer.name, **request.optimizer.hyperparameters())
        if request.iterations > s.max_iterations:
            raise LimitExceeded(
                "max_iterations",
                s.max_iterations,
                request.iterations,
                "iterations",
                ("body", "iterations"),
            )
        starts = request.n_starts
        if starts > s.max_starts:
            grid = request.starts_grid is not None
            raise LimitExceeded(
                "max_starts",
                s.max_starts,
                starts,
                "starts_grid nx x ny" if grid else "starts",
                ("body", "starts_grid" if grid else "starts"),
            )
        work = request.iterations * starts * n_samples * longest
        if work > s.max_job_work:
            raise LimitExceeded(
                "max_job_work",
                s.max_job_work,
                work,
                "iterations x starts x dataset elements (sequences x longest sequence)",
                ("body", "iterations"),
            )
        points = starts * (request.iterations + 1)
        if request.record_trajectory and points > s.max_trajectory_points:
            raise LimitExceeded(
                "max_trajectory_points",
                s.max_trajectory_points,
                points,
                "recorded trajectory points, starts x (iterations + 1) "
                "(record_trajectory=false records none)",
                ("body", "iterations"),
            )

    # -- read ----------------------------------------------------------------------------------
    def get(self, job_id: str) -> JobRecord:
        if not is_job_id(job_id):
            raise NotFound(f"no job with id {job_id!r}")
        with backend_errors():
            return self.backend.store.get(job_id)

    def page(
        self, status: JobStatus | None, limit: int, cursor: str | None
    ) -> tuple[list[JobRecord], str | None]:
        """Up to ``limit`` jobs, newest first, and the cursor of the next page (or None)."""
        before = None
        if cursor is not None:
            before = decode_cursor(cursor)
            if before is None:
                raise InvalidInput(("query", "cursor"), "not a cursor returned by GET /jobs")
        with backend_errors():
            jobs = self.backend.store.list_jobs(status=status, limit=limit + 1, before=before)
        more = len(jobs) > limit
        jobs = jobs[:limit]
        return jobs, jobs[-1].id if more else None  # the cursor is the last id

    def trajectory(self, job_id: str, start: int | None) -> tuple[JobRecord, Trajectory, int]:
        """The recorded path of a finished job: one start's (default: the reported one)."""
        job = self.get(job_id)
        if not job.finished:
            raise Conflict(f"job {job_id} is {job.status}; its trajectory exists once it ends")
        if job.n_trajectories == 0:
            if job.trajectory_error:
                raise NotFound(f"job {job_id} has no trajectory: {job.trajectory_error}")
            raise NotFound(
                f"job {job_id} has no trajectory (it {job.status}"
                + (", or ran with record_trajectory=false)" if job.status == "succeeded" else ")")
            )
        if start is None:
            start = (job.result.best_start if job.result else None) or 0
        if start >= job.n_trajectories:
            raise NotFound(f"job {job_id} has starts 0..{job.n_trajectories - 1}, not {start}")
        with backend_errors():
            trajectory = self.backend.store.get_trajectory(job_id, start)
        if trajectory is None:
            raise NotFound(f"job {job_id} has no trajectory for start {start}")
        return job, trajectory, start

    def active_jobs_using(self, dataset_id: str) -> list[str]:
        """Ids of queued or running jobs whose request names ``dataset_id``.

        There are few of them (the queue is bounded), so reading their requests is cheap;
        a dataset they need must not disappear under them.
        """
        using: list[str] = []
        with backend_errors():
            for status in ("queued", "running"):
                before: str | None = None
                while True:
                    page = self.backend.store.list_jobs(status=status, limit=200, before=before)
                    for job in page:
                        request = self.backend.store.get_request(job.id)
                        if TrainRequest.model_validate_json(request).dataset_id == dataset_id:
                            using.append(job.id)
                    if len(page) < 200:
                        break
                    before = page[-1].id
        return using

    def request(self, job_id: str) -> TrainRequest:
        """The request a job was submitted with (its dataset, optimizer, starts...)."""
        if not is_job_id(job_id):
            raise NotFound(f"no job with id {job_id!r}")
        with backend_errors():
            return TrainRequest.model_validate_json(self.backend.store.get_request(job_id))

    def trained_weights(self, job_id: str) -> tuple[float, float]:
        """(wx, wrec) of a succeeded job, for POST /predict."""
        job = self.get(job_id)
        if job.status != "succeeded" or job.result is None:
            raise Conflict(f"job {job_id} is {job.status}; only a succeeded job has weights")
        wx, wrec = job.result.weights.wx, job.result.weights.wrec
        if wx is None or wrec is None:
            raise Conflict(f"job {job_id} diverged: its weights are not finite")
        return wx, wrec

    # -- cancel --------------------------------------------------------------------------------
    def cancel(self, job_id: str) -> JobRecord:
        """Cancel a queued job (at once) or ask a running one to stop; Conflict if it ended."""
        job = self.get(job_id)
        if job.finished:
            raise Conflict(f"job {job_id} already {job.status}; only queued or running jobs stop")
        with backend_errors():
            job = self.backend.store.request_cancel(job_id)
            if job.status == "cancelled":
                self._quietly(lambda: self.backend.queue.revoke(job_id))
        if job.finished and job.status != "cancelled":
            raise Conflict(f"job {job_id} already {job.status}; only queued or running jobs stop")
        return job

    @staticmethod
    def _quietly(action: Callable[[], T]) -> None:
        with suppress(QueueUnavailableError):  # the store's status keeps workers off it anyway
            action()


def _first_start(request: TrainRequest) -> WeightsOut:
    """Where a job begins, for its progress while queued (a grid begins at its minima)."""
    grid = request.starts_grid
    if grid is not None:
        return WeightsOut(wx=grid.wx_min, wrec=grid.wrec_min)
    return WeightsOut.model_validate((request.starts or [request.initial])[0].model_dump())
