"""Following jobs as they change: one poll per watched job, however many clients follow it.

``GET /jobs/{id}/events``, ``POST /train?wait=`` and a ``DELETE`` of a running job all
wait for a job to change. Each watched job gets one polling task (20 ms at first, backing
off to ``MAX_POLL``), and every waiter on that job shares its reads: 500 event streams on
one job cost the store what one does. The number of streams is capped per job and in
total (``max_event_streams_per_job``, ``max_event_streams``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import anyio
import anyio.abc
import anyio.to_thread

from service.errors import BackendUnavailable, NotFound, QueueFull
from service.jobs.models import JobRecord
from service.jobs.service import JobService

__all__ = ["JobWatcher"]

logger = logging.getLogger("rnnlab.jobs")

FIRST_POLL = 0.02  # seconds: a job that ends within milliseconds is seen at once
MAX_POLL = 0.2


@dataclass
class _Watch:
    record: JobRecord
    changed: anyio.Event = field(default_factory=anyio.Event)
    waiters: int = 0
    alive: bool = True  # its polling task runs
    gone: bool = False  # the job no longer exists (purged)


class JobWatcher:
    """Shared polling of watched jobs; owns its polling tasks (``task_group``)."""

    def __init__(
        self,
        jobs: JobService,
        task_group: anyio.abc.TaskGroup,
        *,
        max_streams: int,
        max_streams_per_job: int,
    ) -> None:
        self._jobs = jobs
        self._tasks = task_group
        self._watches: dict[str, _Watch] = {}
        self._streams: dict[str, int] = {}
        self._max_streams = max_streams
        self._max_per_job = max_streams_per_job

    def open_stream(self, job_id: str) -> None:
        """Count an event stream on ``job_id``; 429/503 at once beyond the caps."""
        if self._streams.get(job_id, 0) >= self._max_per_job:
            raise QueueFull(
                f"job {job_id} already has {self._max_per_job} open event streams "
                "(setting RNNLAB_MAX_EVENT_STREAMS_PER_JOB); poll GET /jobs/{id} instead",
                retry_after=5,
            )
        total = sum(self._streams.values())
        if total >= self._max_streams:
            raise BackendUnavailable(
                f"{total} event streams are open (setting RNNLAB_MAX_EVENT_STREAMS); "
                "retry later or poll GET /jobs/{id}",
                retry_after=5,
            )
        self._streams[job_id] = self._streams.get(job_id, 0) + 1

    def close_stream(self, job_id: str) -> None:
        remaining = self._streams.pop(job_id, 1) - 1
        if remaining > 0:
            self._streams[job_id] = remaining

    def _attach(self, job: JobRecord) -> _Watch:
        watch = self._watches.get(job.id)
        if watch is None:
            watch = self._watches[job.id] = _Watch(job)
            self._tasks.start_soon(self._poll, job.id, watch)
        watch.waiters += 1
        return watch

    async def changes(self, job: JobRecord) -> AsyncIterator[JobRecord]:
        """``job`` as it is now, then each time it changes, ending with its finished record."""
        watch = self._attach(job)
        try:
            current = watch.record
            yield current
            while not current.finished and not watch.gone:
                if watch.record is not current:
                    current = watch.record
                    yield current
                elif watch.alive:
                    await watch.changed.wait()
                else:  # its poller stopped (the backend failed it): follow with a new one
                    watch.waiters -= 1
                    watch = self._attach(current)
        finally:
            watch.waiters -= 1

    async def wait_end(self, job: JobRecord, timeout: float) -> JobRecord:
        """The job once it has ended, or as it is after ``timeout`` seconds."""
        latest = job
        with anyio.move_on_after(timeout):
            async for latest in self.changes(job):  # noqa: B007 - the last one is the answer
                pass
        return latest

    async def _poll(self, job_id: str, watch: _Watch) -> None:
        """Read the job while anyone waits on it: a poll of the store that every backend
        can answer (20 ms, backing off to MAX_POLL), not a retry of something that failed."""
        delay = FIRST_POLL
        try:
            while watch.waiters > 0 and not watch.record.finished:
                await anyio.sleep(delay)
                delay = min(delay * 1.5, MAX_POLL)
                try:
                    record = await anyio.to_thread.run_sync(self._jobs.get, job_id)
                except BackendUnavailable:
                    continue  # keep waiting: the backend usually comes back
                except NotFound:  # purged meanwhile
                    watch.gone = True
                    break
                if _state(record) != _state(watch.record):
                    watch.record = record
                    watch.changed.set()
                    watch.changed = anyio.Event()
        except Exception:
            logger.exception("job %s: watching it failed", job_id)
            await anyio.sleep(MAX_POLL)  # a waiter that follows with a new poller waits this
        finally:
            watch.alive = False
            if self._watches.get(job_id) is watch:
                del self._watches[job_id]
            watch.changed.set()  # wake the waiters: they see it stopped


def _state(job: JobRecord) -> tuple[object, ...]:
    """What a follower sees change: status, progress and the cancel flag."""
    return (job.status, job.progress, job.cancel_requested)
