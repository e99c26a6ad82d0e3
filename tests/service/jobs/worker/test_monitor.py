"""service.jobs.worker.monitor: what the store says reaches the training loop within ticks."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

import pytest

from service.jobs.models import JobProgress
from service.jobs.store.base import Beat, StoreUnavailableError
from service.jobs.worker.monitor import (
    JobAbandonedError,
    JobCancelledError,
    JobMonitor,
    JobTimeoutError,
    WorkerOrphanedError,
)
from tests.service._jobs import wait_until
from tests.service.jobs.store.test_base import record


class ScriptedStore:
    """A store whose heartbeat answers what the test says (or fails while it says so)."""

    def __init__(self, answer: Beat = Beat.CONTINUE) -> None:
        self.answer = answer
        self.down = False
        self.refused = 0
        self.beats: list[tuple[str, str, int]] = []

    def beat(self, job_id: str, worker: str, attempt: int, progress: JobProgress | None) -> Beat:
        if self.down:
            self.refused += 1
            raise StoreUnavailableError("the store is down")
        self.beats.append((job_id, worker, attempt))
        return self.answer


def monitor(store: ScriptedStore, timeout: float = 60, consumer: int | None = None) -> JobMonitor:
    return JobMonitor(store, record(), "host:1", timeout, consumer)  # type: ignore[arg-type]


def raises_soon(callback: Callable[[], None], error: type[Exception]) -> None:
    def raised() -> bool:
        try:
            callback()
        except error:
            return True
        return False

    wait_until(raised, timeout=30)


@pytest.mark.parametrize(
    ("answer", "error"), [(Beat.CANCEL, JobCancelledError), (Beat.ABANDON, JobAbandonedError)]
)
def test_the_stores_verdict_stops_training(answer: Beat, error: type[Exception]) -> None:
    store = ScriptedStore()
    watched = monitor(store)
    watched.start()
    try:
        wait_until(lambda: store.beats, timeout=30)
        watched.callback(None)  # type: ignore[arg-type]  # still this worker's: go on
        store.answer = answer
        raises_soon(lambda: watched.callback(None), error)  # type: ignore[arg-type]
    finally:
        watched.stop()
    assert store.beats[0][1:] == ("host:1", 0)
    assert watched.abandoned == (answer is Beat.ABANDON)


def test_past_its_deadline_a_job_stops_at_the_next_iteration() -> None:
    watched = monitor(ScriptedStore(), timeout=0)
    with pytest.raises(JobTimeoutError):
        watched.callback(None)  # type: ignore[arg-type]


def test_a_worker_whose_consumer_is_gone_hands_the_job_back() -> None:
    watched = monitor(ScriptedStore(), consumer=os.getppid() + 1)
    watched.start()
    try:
        raises_soon(lambda: watched.callback(None), WorkerOrphanedError)  # type: ignore[arg-type]
    finally:
        watched.stop()


def test_an_outage_is_logged_once_and_the_heartbeat_resumes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = ScriptedStore()
    store.down = True
    watched = monitor(store)
    with caplog.at_level(logging.INFO, logger="rnnlab.jobs"):
        watched.start()
        try:
            wait_until(lambda: store.refused >= 3, timeout=30)
            watched.callback(None)  # type: ignore[arg-type]  # an outage does not stop training
            store.down = False
            wait_until(lambda: store.beats, timeout=30)
        finally:
            watched.stop()
    warnings = [r for r in caplog.records if "heartbeats not written" in r.getMessage()]
    assert len(warnings) == 1
    assert "written again" in caplog.text
