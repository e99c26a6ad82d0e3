"""service.jobs runner and reaper, in-process on the embedded (SQLite) backend."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import pytest

import service.jobs.reaper
from core.training import Trajectory
from service.config import Settings
from service.datasets import DatasetRegistry
from service.errors import NotFound
from service.jobs.backend import JobBackend, open_backend
from service.jobs.models import JobRecord, utcnow
from service.jobs.reaper import Reaper
from service.jobs.runner import WorkerContext, run_job
from service.jobs.service import JobService
from service.schemas.common import DatasetData
from service.schemas.jobs import TrainRequest
from tests.service._jobs import InlineWorker, wait_until


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, heartbeat_timeout=1.0)


@pytest.fixture
def backend(settings: Settings) -> Iterator[JobBackend]:
    backend = open_backend(settings)
    yield backend
    backend.close()


@pytest.fixture
def jobs(settings: Settings, backend: JobBackend) -> JobService:
    return JobService(settings, backend, DatasetRegistry(settings))


def submit(jobs: JobService, **body: object) -> JobRecord:
    return jobs.submit(TrainRequest.model_validate(body))


def ended(jobs: JobService, job_id: str, timeout: float = 30) -> JobRecord:
    return wait_until(lambda: (job := jobs.get(job_id)).finished and job, timeout)


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


def test_a_running_job_is_cancelled_within_a_second(jobs: JobService, backend: JobBackend) -> None:
    job = submit(jobs, iterations=5_000_000, record_trajectory=False)
    with InlineWorker(backend):
        wait_until(lambda: jobs.get(job.id).progress.iteration > 0, 10)
        asked = time.monotonic()
        jobs.cancel(job.id)
        done = ended(jobs, job.id)
        latency = time.monotonic() - asked
    assert done.status == "cancelled"
    assert done.error is not None
    assert done.error["type"].endswith("cancelled")
    assert latency < 1.0


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
    assert (back.status, back.attempts, back.progress.iteration) == ("queued", 1, 0)
    assert backend.queue.pending_job_ids() == {job.id}


def test_the_reaper_fails_running_jobs_without_heartbeat(
    jobs: JobService, backend: JobBackend
) -> None:
    lost, cancelled = submit(jobs), submit(jobs)
    for job in (lost, cancelled):
        backend.store.start(job.id, "gone:1")
    jobs.cancel(cancelled.id)
    reaper = Reaper(backend, heartbeat_timeout=0.2)
    assert reaper.reap() == []
    time.sleep(0.3)
    reaped = {job.id: job for job in reaper.reap()}
    assert reaped[lost.id].status == "failed"
    assert reaped[lost.id].error is not None
    assert "heartbeat" in reaped[lost.id].error["detail"]
    assert reaped[cancelled.id].status == "cancelled"


def test_the_reaper_fails_queued_jobs_whose_task_vanished(
    jobs: JobService, backend: JobBackend
) -> None:
    vanished, waiting = submit(jobs), submit(jobs)
    backend.queue.huey.flush()  # both tasks gone ...
    backend.queue.enqueue(waiting.id)  # ... one comes back
    reaper = Reaper(backend, heartbeat_timeout=0.0)
    assert reaper.reap() == []  # first pass only suspects
    [reaped] = reaper.reap()
    assert reaped.id == vanished.id
    assert reaped.status == "failed"
    assert jobs.get(waiting.id).status == "queued"


def test_the_reaper_leaves_young_and_healthy_jobs_alone(
    jobs: JobService, backend: JobBackend
) -> None:
    job = submit(jobs)
    backend.store.start(job.id, "here:1")
    reaper = Reaper(backend, heartbeat_timeout=60)
    assert reaper.reap() == reaper.reap() == []
    assert backend.store.stale_running(utcnow() - timedelta(seconds=60)) == []


def test_the_reaper_purges_finished_jobs_after_the_retention(
    jobs: JobService, backend: JobBackend
) -> None:
    done, cancelled, waiting = submit(jobs), submit(jobs), submit(jobs)
    jobs.cancel(cancelled.id)
    backend.store.start(done.id, "here:1")
    backend.store.finish(done.id, "succeeded", n_trajectories=0)
    assert Reaper(backend, heartbeat_timeout=60).purge() == 0  # retention 0: kept forever
    assert Reaper(backend, heartbeat_timeout=60, retention=3600).purge() == 0  # too young
    time.sleep(0.01)
    assert Reaper(backend, heartbeat_timeout=60, retention=0.005).purge() == 2
    for job in (done, cancelled):
        with pytest.raises(NotFound):
            jobs.get(job.id)
    assert jobs.get(waiting.id).status == "queued"


def test_the_reaper_purges_in_bounded_batches(
    jobs: JobService, backend: JobBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service.jobs.reaper, "PURGE_BATCH", 2)
    monkeypatch.setattr(service.jobs.reaper, "PURGE_BATCHES", 2)
    for _ in range(5):
        jobs.cancel(submit(jobs).id)
    calls: list[int] = []
    purge_finished = backend.store.purge_finished

    def spy(finished_before: datetime, limit: int) -> int:
        calls.append(limit)
        return purge_finished(finished_before, limit)

    monkeypatch.setattr(backend.store, "purge_finished", spy)
    time.sleep(0.01)
    reaper = Reaper(backend, heartbeat_timeout=60, retention=0.005)
    assert reaper.purge() == 4  # two transactions of two, then the pass ends
    assert reaper.purge() == 1
    assert reaper.purge() == 0
    assert calls == [2, 2, 2, 2]


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
