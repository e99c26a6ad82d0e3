"""service.jobs.store.base: the same rules on SQLite and Redis (records, transitions, paging)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

import service.jobs.store.base
from core.training import Trajectory
from service.jobs.ids import new_job_id
from service.jobs.models import (
    JobProgress,
    JobRecord,
    JobResult,
    JobStatus,
    problem,
    utcnow,
    weights_out,
)
from service.jobs.store.base import Beat, JobNotFoundError, JobStore
from service.jobs.store.redis import RedisJobStore
from service.jobs.store.sqlite import SqliteJobStore
from tests._processes import wait_until
from tests._redis import redis_or_skip


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JobStore]:
    if request.param == "sqlite":
        backend: JobStore = SqliteJobStore(tmp_path / "jobs.db")
    else:
        backend = RedisJobStore(redis_or_skip())
    yield backend
    backend.close()


def record(job_id: str | None = None, iterations: int = 10) -> JobRecord:
    return JobRecord(
        id=job_id or new_job_id(),
        status="queued",
        created_at=utcnow(),
        progress=JobProgress(
            iteration=0, iterations=iterations, loss=None, weights=weights_out(-1.5, 2.0)
        ),
    )


def result() -> JobResult:
    return JobResult(
        weights=weights_out(1.0, 1.0),
        loss=0.0,
        iterations=10,
        converged=False,
        diverged=False,
        overflow=False,
    )


def test_create_get_and_request(store: JobStore) -> None:
    job = record()
    store.create(job, '{"iterations": 10}')
    assert store.get(job.id) == job
    assert store.get_request(job.id) == '{"iterations": 10}'
    with pytest.raises(JobNotFoundError):
        store.get(new_job_id())
    with pytest.raises(JobNotFoundError):
        store.get_request(new_job_id())


def test_list_is_newest_first_paged_and_filtered(store: JobStore) -> None:
    jobs = [record() for _ in range(7)]
    for job in jobs:
        store.create(job, "{}")
    for job in jobs[:3]:
        store.request_cancel(job.id)
    newest_first = [job.id for job in reversed(jobs)]
    first = store.list_jobs(limit=4)
    rest = store.list_jobs(limit=4, before=first[-1].id)
    assert [j.id for j in first + rest] == newest_first
    assert [j.id for j in store.list_jobs(status="cancelled")] == newest_first[4:]
    assert [j.id for j in store.list_jobs(status="queued", limit=2)] == newest_first[:2]
    assert store.count("queued") == 4
    assert store.count("cancelled") == 3
    assert store.count("running") == 0


def test_a_job_runs_reports_progress_and_succeeds(store: JobStore) -> None:
    job = record()
    store.create(job, "{}")
    running = store.start(job.id, "host:1")
    assert running is not None
    assert (running.status, running.worker, running.attempts) == ("running", "host:1", 1)
    assert store.start(job.id, "host:2") is None  # claimed once only
    progress = JobProgress(iteration=5, iterations=10, loss=0.5, weights=weights_out(0.1, 0.2))
    assert store.beat(job.id, "host:1", 1, progress) is Beat.CONTINUE
    assert store.get(job.id).progress == progress
    done = store.finish(job.id, "succeeded", result=result(), n_trajectories=1)
    assert done is not None
    assert done.status == "succeeded"
    assert done.finished_at is not None
    assert store.finish(job.id, "failed") is None  # an ended job stays ended
    assert store.beat(job.id, "host:1", 1) is Beat.ABANDON  # its worker, if any, lets go
    assert store.count("running") == 0
    assert store.count("succeeded") == 1


def test_cancel_ends_a_queued_job_and_flags_a_running_one(store: JobStore) -> None:
    queued, running = record(), record()
    store.create(queued, "{}")
    store.create(running, "{}")
    store.start(running.id, "host:1")
    assert store.request_cancel(queued.id).status == "cancelled"
    flagged = store.request_cancel(running.id)
    assert (flagged.status, flagged.cancel_requested) == ("running", True)
    assert store.beat(running.id, "host:1", 1) is Beat.CANCEL
    assert store.start(queued.id, "host:1") is None  # a cancelled job never starts


def test_requeue_puts_a_running_job_back(store: JobStore) -> None:
    job = record()
    store.create(job, "{}")
    store.start(job.id, "host:1")
    back = store.requeue(job.id, job.progress)
    assert back is not None
    assert (back.status, back.worker, back.started_at, back.attempts) == ("queued", None, None, 1)
    again = store.start(job.id, "host:2")
    assert again is not None
    assert again.attempts == 2
    assert store.beat(job.id, "host:1", 1) is Beat.ABANDON  # the first worker's claim is gone
    assert store.beat(job.id, "host:2", 2) is Beat.CONTINUE


def test_a_worker_stopped_on_purpose_gets_its_attempt_back(store: JobStore) -> None:
    job = record()
    store.create(job, "{}")
    store.start(job.id, "host:1")
    back = store.requeue(job.id, job.progress, refund=True)
    assert back is not None
    assert back.attempts == 0


def test_running_jobs_and_conditional_transitions(store: JobStore) -> None:
    job = record()
    store.create(job, "{}")
    store.start(job.id, "host:1")
    assert [j.id for j in store.running()] == [job.id]
    assert store.requeue(job.id, job.progress, only_if=lambda j: j.status == "queued") is None
    assert store.finish(job.id, "failed", only_if=lambda j: j.status == "queued") is None
    assert store.finish(job.id, "failed", only_if=lambda j: j.status == "running") is not None


def test_a_workers_own_end_replaces_a_worker_lost_verdict(store: JobStore) -> None:
    """The reaper's verdict was a guess; the worker that finished knows the true outcome."""
    lost, failed = record(), record()
    for job in (lost, failed):
        store.create(job, "{}")
        store.start(job.id, "host:1")
    store.finish(lost.id, "failed", error=problem("worker-lost", "Worker Lost", 500, "silent"))
    store.finish(failed.id, "failed", error=problem("job-error", "Job Error", 500, "raised"))
    assert store.finish(lost.id, "succeeded", result=result()) is None  # not without over_lost
    done = store.finish(lost.id, "succeeded", result=result(), over_lost=True)
    assert done is not None
    assert (done.status, done.error) == ("succeeded", None)
    assert store.finish(failed.id, "succeeded", result=result(), over_lost=True) is None


def test_trajectories_round_trip_with_non_finite_values(store: JobStore) -> None:
    job = record()
    store.create(job, "{}")
    a = Trajectory(np.array([1.0, 2.0]), np.array([3.0, np.inf]), np.array([np.nan, 0.5]))
    b = Trajectory(np.zeros(3), np.ones(3), np.arange(3.0))
    store.put_trajectories(job.id, [a, b])
    got = store.get_trajectory(job.id, 0)
    assert got is not None
    np.testing.assert_array_equal(got.wrec, a.wrec)
    np.testing.assert_array_equal(got.loss, a.loss)
    got_b = store.get_trajectory(job.id, 1)
    assert got_b is not None
    np.testing.assert_array_equal(got_b.loss, b.loss)
    assert store.get_trajectory(job.id, 2) is None
    store.delete(job.id)
    with pytest.raises(JobNotFoundError):
        store.get(job.id)
    assert store.get_trajectory(job.id, 0) is None


def test_racing_writers_lose_no_cancel(store: JobStore) -> None:
    """Progress writes from a worker never overwrite a concurrent cancel.

    The writers are still writing when the cancel lands, and go on writing after it
    (each write reads the record and writes it back whole): a store that did not run
    each write as one transaction would lose the flag to a write that started before it.
    """
    job = record()
    store.create(job, "{}")
    store.start(job.id, "host:1")
    stop = threading.Event()
    written = [0, 0, 0]
    told_to_cancel = [False, False, False]

    def beat(writer: int) -> None:
        while not stop.is_set():
            written[writer] += 1
            progress = JobProgress(
                iteration=written[writer], iterations=10**6, loss=1.0, weights=weights_out(0, 0)
            )
            if store.beat(job.id, "host:1", 1, progress) is Beat.CANCEL:
                told_to_cancel[writer] = True

    threads = [threading.Thread(target=beat, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: min(written) >= 20, 30)  # every writer is busy
        store.request_cancel(job.id)
        at_cancel = list(written)
        wait_until(lambda: all(w >= c + 20 for w, c in zip(written, at_cancel, strict=True)), 30)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert store.get(job.id).cancel_requested
    assert all(told_to_cancel)  # and every writer learned it from its next write


def test_count_by_status_counts_every_status_in_one_read(store: JobStore) -> None:
    jobs = [record() for _ in range(5)]
    for job in jobs:
        store.create(job, "{}")
    store.start(jobs[0].id, "host:1")
    store.start(jobs[1].id, "host:1")
    store.finish(jobs[1].id, "succeeded", result=result())
    store.request_cancel(jobs[2].id)
    store.start(jobs[3].id, "host:1")
    store.finish(jobs[3].id, "failed")
    counts = store.count_by_status()
    assert counts == {"queued": 1, "running": 1, "succeeded": 1, "failed": 1, "cancelled": 1}
    assert counts == {status: store.count(status) for status in counts}
    store.delete(jobs[4].id)
    assert store.count_by_status()["queued"] == 0


def test_count_by_status_of_an_empty_store_is_all_zeros(store: JobStore) -> None:
    assert store.count_by_status() == dict.fromkeys(
        ("queued", "running", "succeeded", "failed", "cancelled"), 0
    )


def ended_at(store: JobStore, status: JobStatus, when: datetime) -> JobRecord:
    """A new job that ended with ``status`` at ``when`` (the store's clock, faked)."""
    job = record()
    store.create(job, "{}")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(service.jobs.store.base, "utcnow", lambda: when)
        if status == "cancelled":
            store.request_cancel(job.id)
        else:
            store.start(job.id, "host:1")
            store.put_trajectories(job.id, [Trajectory(np.zeros(2), np.ones(2), np.arange(2.0))])
            store.finish(job.id, status, n_trajectories=1)
    return job


def test_purge_deletes_finished_jobs_older_than_the_cutoff_oldest_first(store: JobStore) -> None:
    now = utcnow()
    old = [
        ended_at(store, "failed", now - timedelta(hours=3)),
        ended_at(store, "cancelled", now - timedelta(hours=2)),
        ended_at(store, "succeeded", now - timedelta(hours=1)),
    ]
    recent = ended_at(store, "succeeded", now - timedelta(seconds=1))
    running, queued = record(), record()  # active jobs are never purged, however old
    for job in (running, queued):
        store.create(job.model_copy(update={"created_at": now - timedelta(days=9)}), "{}")
    store.start(running.id, "host:1")
    cutoff = now - timedelta(minutes=1)

    assert store.purge_finished(cutoff, limit=2) == 2
    assert {j.id for j in store.list_jobs()} == {old[2].id, recent.id, running.id, queued.id}
    assert store.purge_finished(cutoff, limit=2) == 1
    assert store.purge_finished(cutoff, limit=2) == 0
    for job in old:
        with pytest.raises(JobNotFoundError):
            store.get(job.id)
        with pytest.raises(JobNotFoundError):
            store.get_request(job.id)
        assert store.get_trajectory(job.id, 0) is None
    assert store.get_trajectory(recent.id, 0) is not None
    assert store.list_jobs(status="succeeded") == [store.get(recent.id)]
    assert store.count_by_status() == {
        "queued": 1,
        "running": 1,
        "succeeded": 1,
        "failed": 0,
        "cancelled": 0,
    }


def test_purge_with_nothing_old_enough_deletes_nothing(store: JobStore) -> None:
    assert store.purge_finished(utcnow(), limit=10) == 0
    job = record()
    store.create(job, "{}")
    store.request_cancel(job.id)
    assert store.purge_finished(utcnow() - timedelta(seconds=60), limit=10) == 0
    assert store.purge_finished(utcnow() + timedelta(seconds=1), limit=10) == 1


def test_the_worker_of_a_purged_job_is_told_to_stop(store: JobStore) -> None:
    job = record()
    store.create(job, "{}")
    store.start(job.id, "host:1")
    store.finish(job.id, "failed")  # as a reaper does when the worker seems lost
    assert store.purge_finished(utcnow() + timedelta(seconds=1), limit=10) == 1
    assert store.beat(job.id, "host:1", 1) is Beat.ABANDON
    with pytest.raises(JobNotFoundError):
        store.finish(job.id, "succeeded")
