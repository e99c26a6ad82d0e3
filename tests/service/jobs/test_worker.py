"""service.jobs runner and reaper, in-process on the embedded (SQLite) backend."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
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
from service.jobs.reaper import MAX_ATTEMPTS, Reaper
from service.jobs.schemas import TrainRequest
from service.jobs.service import JobService
from service.jobs.store.base import Beat, StoreFullError, StoreUnavailableError
from service.jobs.worker.runner import WorkerContext, run_job
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


class Clock:
    """The reaper's clock, moved by hand: silences last exactly as long as a test says."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_reaper_requeues_a_running_job_whose_heartbeat_stopped(
    jobs: JobService, backend: JobBackend
) -> None:
    lost, cancelled = submit(jobs), submit(jobs)
    backend.queue.huey.flush()  # as workers took both tasks
    for job in (lost, cancelled):
        backend.store.start(job.id, "gone:1")
    jobs.cancel(cancelled.id)
    clock = Clock()
    reaper = Reaper(backend, heartbeat_timeout=10, clock=clock)
    assert reaper.reap() == []
    clock.now = 9.9
    assert reaper.reap() == []
    clock.now = 10.0
    reaped = {job.id: job for job in reaper.reap()}
    assert (reaped[lost.id].status, reaped[lost.id].attempts) == ("queued", 1)
    assert backend.queue.pending_job_ids() == {lost.id}  # it will run again
    assert reaped[cancelled.id].status == "cancelled"


def test_a_job_whose_workers_keep_dying_fails_after_its_attempts(
    jobs: JobService, backend: JobBackend
) -> None:
    job = submit(jobs)
    clock = Clock()
    reaper = Reaper(backend, heartbeat_timeout=10, clock=clock)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert backend.store.start(job.id, f"gone:{attempt}") is not None
        assert reaper.reap() == []
        clock.now += 10
        [reaped] = reaper.reap()
    assert reaped.status == "failed"
    assert reaped.error is not None
    assert reaped.error["type"] == "urn:rnnlab:problem:worker-lost"
    assert f"started {MAX_ATTEMPTS} times" in reaped.error["detail"]


def test_a_beating_worker_is_never_reaped(jobs: JobService, backend: JobBackend) -> None:
    job = submit(jobs)
    running = backend.store.start(job.id, "here:1")
    assert running is not None
    clock = Clock()
    reaper = Reaper(backend, heartbeat_timeout=10, clock=clock)
    for _ in range(10):
        assert backend.store.beat(job.id, "here:1", running.attempts) is Beat.CONTINUE
        assert reaper.reap() == []
        clock.now += 9
    assert backend.store.get(job.id).status == "running"


def test_silence_while_the_store_was_unreachable_is_not_held_against_a_worker(
    jobs: JobService, backend: JobBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = submit(jobs)
    backend.store.start(job.id, "here:1")
    clock = Clock()
    reaper = Reaper(backend, heartbeat_timeout=10, clock=clock)
    assert reaper.reap() == []
    running = backend.store.running

    def unreachable() -> list[JobRecord]:
        raise StoreUnavailableError("connection refused")

    monkeypatch.setattr(backend.store, "running", unreachable)
    for _ in range(15):  # a 15 s outage: neither the worker nor the reaper reach the store
        clock.now += 1
        with pytest.raises(StoreUnavailableError):
            reaper.reap()
    monkeypatch.setattr(backend.store, "running", running)
    assert reaper.reap() == []  # the heartbeat is 15 s old, but this reaper just saw it
    clock.now += 9.9
    assert reaper.reap() == []
    clock.now += 0.1  # the worker really is gone: now it counts
    [requeued] = reaper.reap()
    assert requeued.status == "queued"


def test_the_reaper_enqueues_again_a_queued_job_whose_task_vanished(
    jobs: JobService, backend: JobBackend
) -> None:
    vanished, waiting = submit(jobs), submit(jobs)
    backend.queue.huey.flush()  # both tasks gone ...
    backend.queue.enqueue(waiting.id)  # ... one comes back
    clock = Clock()
    reaper = Reaper(backend, heartbeat_timeout=10, clock=clock)
    assert reaper.reap() == []
    clock.now = 10
    [again] = reaper.reap()
    assert again.id == vanished.id
    assert backend.queue.pending_job_ids() == {vanished.id, waiting.id}
    assert {jobs.get(vanished.id).status, jobs.get(waiting.id).status} == {"queued"}


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
