"""service.jobs.reaper: lost jobs run again, ended ones purged, on a clock the test moves."""

from __future__ import annotations

import time
from datetime import datetime

import pytest

import service.jobs.reaper
import service.jobs.worker.runner
from service.errors import NotFound
from service.jobs.backend import JobBackend
from service.jobs.models import JobRecord
from service.jobs.reaper import MAX_ATTEMPTS, Reaper
from service.jobs.service import JobService
from service.jobs.store.base import Beat, StoreUnavailableError
from tests.service._jobs import submit


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
