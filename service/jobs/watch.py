"""Following jobs as they change: one reader per watched job, however many clients follow it.

``GET /jobs/{id}/events``, ``POST /train?wait=`` and a ``DELETE`` of a running job all
wait for a job to change. Each watched job gets one task that reads it when the store's
change feed says it changed (``service.jobs.store.feed``: Redis publishes every
transition, SQLite's data_version is watched) and at least every ``FALLBACK_POLL``
seconds; every waiter on that job shares its reads, so 500 event streams on one job cost
the store what one does, and a job that ends is seen within milliseconds rather than at
the next poll. The number of streams is capped per job and in total
(``max_event_streams_per_job``, ``max_event_streams``).
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
from service.jobs.store.feed import FALLBACK_POLL

__all__ = ["JobWatcher"]

logger = logging.getLogger("rnnlab.jobs")


@dataclass
class _Watch:
    record: JobRecord
    changed: anyio.Event = field(default_factory=anyio.Event)
    nudged: anyio.Event = field(default_factory=anyio.Event)  # the feed: read it again
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
        self._active = anyio.Event()  # set while some job is watched

    def nudge(self, job_id: str | None) -> None:
        """The change feed's call: ``job_id`` (or, for None, any job) may have changed."""
        targets = self._watches.values() if job_id is None else [self._watches.get(job_id)]
        for watch in targets:
            if watch is not None:
                watch.nudged.set()

    async def watching(self) -> None:
        """Return once some job is watched (the SQLite feed reads only while one is)."""
        await self._active.wait()

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
            watch.nudged.set()  # read it once at once: it may have changed already
            self._active.set()
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
        """Read the job while anyone waits on it: when the feed nudges, and at least every
        FALLBACK_POLL seconds (a lost notification delays an answer, never loses it)."""
        try:
            while watch.waiters > 0 and not watch.record.finished:
                with anyio.move_on_after(FALLBACK_POLL):
                    await watch.nudged.wait()
                watch.nudged = anyio.Event()  # a nudge during the read below is kept
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
            await anyio.sleep(FALLBACK_POLL)  # a waiter that follows with a new one waits this
        finally:
            watch.alive = False
            if self._watches.get(job_id) is watch:
                del self._watches[job_id]
                if not self._watches:
                    self._active = anyio.Event()
            watch.changed.set()  # wake the waiters: they see it stopped


def _state(job: JobRecord) -> tuple[object, ...]:
    """What a follower sees change: status, progress and the cancel flag."""
    return (job.status, job.progress, job.cancel_requested)
