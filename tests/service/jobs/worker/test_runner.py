"""service.jobs.worker.runner: a job run to its true end, in-process on the embedded backend."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import service.jobs.reaper
import service.jobs.worker.runner
from core.training import Trajectory
from service.config import Settings
from service.datasets.registry import DatasetRegistry
from service.datasets.schemas import DatasetData
from service.errors import NotFound
from service.jobs.backend import JobBackend, open_backend
from service.jobs.models import JobRecord, utcnow
from service.jobs.service import JobService
from service.jobs.store.base import StoreFullError, StoreUnavailableError
from service.jobs.worker.runner import WorkerContext, run_job
from tests.service._jobs import InlineWorker, ended, submit, wait_until


def test_the_default_job_trains_the_tutorial_run(jobs: JobService, backend: JobBackend) -> None:
    job = submit(jobs)
    with InlineWorker(backend):
        done = ended(jobs, job.id)
    assert done.status == "succeeded", done.error
    assert done.result is not None
    assert (round(done.result.weights.wx or 0, 4), round(done.result.weights.wrec or 0, 4)) == (
        1.0014,
        0.9997,
    )
    assert done.progress.iteration == 500
    _, trajectory, start = jobs.trajectory(job.id, None)
    assert (start, len(trajectory.wx)) == (0, 501)


def test_multi_start_reports_every_start_and_the_best(
    jobs: JobService, backend: JobBackend
) -> None:
    starts = [{"wx": -1.5, "wrec": 2.0}, {"wx": 1.0, "wrec": 0.5}, {"wx": 3.0, "wrec": 3.0}]
    job = submit(jobs, starts=starts, optimizer={"name": "sgd", "learning_rate": 0.01})
    with InlineWorker(backend):
        done = ended(jobs, job.id)
    assert done.result is not None
    assert done.result.starts is not None
    assert [s.initial.wx for s in done.result.starts] == [-1.5, 1.0, 3.0]
    assert done.result.best_start == 1
    assert done.result.starts[0].diverged  # plain SGD explodes for |wrec| > 1
    assert done.result.starts[0].weights.wx is None
    assert done.n_trajectories == 3


def test_a_running_job_stops_when_cancelled(jobs: JobService, backend: JobBackend) -> None:
    job = submit(jobs, iterations=10_000_000, record_trajectory=False)
    with InlineWorker(backend):
        wait_until(lambda: jobs.get(job.id).progress.iteration > 0, 30)
        jobs.cancel(job.id)
        done = ended(jobs, job.id)
    assert done.status == "cancelled"
    assert done.error is not None
    assert done.error["type"].endswith("cancelled")
    assert done.progress.iteration < 10_000_000  # it stopped, it did not run to the end


def test_a_job_over_its_wall_time_fails_with_a_timeout(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, job_timeout=0.3)
    backend = open_backend(settings)
    jobs = JobService(settings, backend, DatasetRegistry(settings))
    job = submit(jobs, iterations=5_000_000, record_trajectory=False)
    with InlineWorker(backend):
        done = ended(jobs, job.id)
    backend.close()
    assert done.status == "failed"
    assert done.error is not None
    assert "job_timeout" in done.error["detail"]


def test_a_dataset_deleted_after_submit_fails_the_job(
    jobs: JobService, backend: JobBackend
) -> None:
    info = jobs.datasets.create(DatasetData.model_validate({"sequences": [[1, 0], [1]]}))
    job = submit(jobs, dataset_id=info.id)
    jobs.datasets.delete(info.id)
    with InlineWorker(backend):
        done = ended(jobs, job.id)
    assert done.status == "failed"
    assert done.error is not None
    assert done.error["status"] == 404


def test_an_orphaned_worker_hands_its_job_back(
    settings: Settings, jobs: JobService, backend: JobBackend
) -> None:
    job = submit(jobs, iterations=5_000_000, record_trajectory=False)
    assert backend.queue.huey.dequeue() is not None  # as a worker would take it
    context = WorkerContext(
        settings, backend.store, backend.queue, jobs.datasets, consumer_pid=os.getppid() + 1
    )
    thread = threading.Thread(target=run_job, args=(context, job.id))
    thread.start()
    thread.join(timeout=10)
    back = jobs.get(job.id)
    # A worker stopping on purpose does not use up one of the job's attempts.
    assert (back.status, back.attempts, back.progress.iteration) == ("queued", 0, 0)
    assert backend.queue.pending_job_ids() == {job.id}


def test_a_job_purged_while_its_worker_runs_leaves_nothing_behind(
    settings: Settings, jobs: JobService, backend: JobBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = submit(jobs, iterations=50)
    assert backend.queue.huey.dequeue() is not None  # as a worker would take it
    put_trajectories = backend.store.put_trajectories

    def lost_and_purged_first(job_id: str, trajectories: Sequence[Trajectory]) -> None:
        backend.store.finish(job_id, "failed")  # a reaper judged its worker lost ...
        assert backend.store.purge_finished(utcnow() + timedelta(seconds=1), 10) == 1
        put_trajectories(job_id, trajectories)  # ... before the worker could record its end

    monkeypatch.setattr(backend.store, "put_trajectories", lost_and_purged_first)
    run_job(WorkerContext(settings, backend.store, backend.queue, jobs.datasets), job.id)
    assert backend.store.count_by_status() == dict.fromkeys(
        ("queued", "running", "succeeded", "failed", "cancelled"), 0
    )
    assert backend.store.get_trajectory(job.id, 0) is None


def test_a_finished_job_is_recorded_once_the_store_answers_again(
    settings: Settings, jobs: JobService, backend: JobBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = submit(jobs)
    assert backend.queue.huey.dequeue() is not None  # as a worker would take it
    monkeypatch.setattr(service.jobs.worker.runner, "END_RETRY_MAX", 0.01)
    finish = backend.store.finish
    outage = iter(range(5))

    def down_for_a_while(*args: object, **kwargs: Any) -> JobRecord | None:
        if next(outage, None) is not None:
            raise StoreUnavailableError("connection refused")
        return finish(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(backend.store, "finish", down_for_a_while)
    run_job(WorkerContext(settings, backend.store, backend.queue, jobs.datasets), job.id)
    done = jobs.get(job.id)
    assert done.status == "succeeded"
    assert done.result is not None
    assert done.result.weights.wx == 1.001355547207059
    assert done.n_trajectories == 1


def test_a_job_whose_trajectory_finds_the_disk_full_succeeds_without_it(
    settings: Settings, jobs: JobService, backend: JobBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = submit(jobs)
    assert backend.queue.huey.dequeue() is not None
    monkeypatch.setattr(service.jobs.worker.runner, "END_RETRY_MAX", 0.01)
    monkeypatch.setattr(service.jobs.worker.runner, "TRAJECTORY_GIVE_UP", 0.0)

    def full(job_id: str, trajectories: Sequence[Trajectory]) -> None:
        raise StoreFullError("database or disk is full")

    monkeypatch.setattr(backend.store, "put_trajectories", full)
    run_job(WorkerContext(settings, backend.store, backend.queue, jobs.datasets), job.id)
    done = jobs.get(job.id)
    assert (done.status, done.n_trajectories) == ("succeeded", 0)
    assert done.trajectory_error is not None
    assert "full" in done.trajectory_error
    with pytest.raises(NotFound, match="full"):
        jobs.trajectory(job.id, None)


def test_a_worker_whose_job_was_requeued_meanwhile_lets_it_go(
    settings: Settings, jobs: JobService, backend: JobBackend
) -> None:
    job = submit(jobs, iterations=10_000_000, record_trajectory=False)
    assert backend.queue.huey.dequeue() is not None
    context = WorkerContext(settings, backend.store, backend.queue, jobs.datasets)
    thread = threading.Thread(target=run_job, args=(context, job.id))
    thread.start()
    wait_until(lambda: jobs.get(job.id).status == "running", 30)
    running = jobs.get(job.id)
    assert backend.store.requeue(job.id, running.progress) is not None  # as a reaper would
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert jobs.get(job.id).status == "queued"  # left for the next worker, nothing recorded
