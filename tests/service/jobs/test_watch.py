"""service.jobs.watch: waiters hear of a job's end from the store's feed, within milliseconds."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
import redis

import service.jobs.store.feed as feed_module
import service.jobs.watch as watch_module
from service.config import Settings
from service.datasets.registry import DatasetRegistry
from service.jobs.backend import JobBackend, open_backend
from service.jobs.schemas import TrainRequest
from service.jobs.service import JobService
from service.jobs.store.base import JobStore
from service.jobs.store.redis import RedisJobStore
from service.jobs.watch import JobWatcher
from tests._redis import redis_or_skip

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def jobs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JobService]:
    url = redis_or_skip() if request.param == "redis" else ""
    settings = Settings(data_dir=tmp_path, queue_url=url)
    backend: JobBackend = open_backend(settings)
    yield JobService(settings, backend, DatasetRegistry(settings))
    backend.close()


def listening(store: JobStore) -> bool:
    """Whether the store's feed would hear a change made now."""
    if isinstance(store, RedisJobStore):
        client = redis.Redis.from_url(store.url)
        try:
            return bool(dict(client.pubsub_numsub(store.channel)).get(store.channel.encode()))
        finally:
            client.close()
    return bool(reads)


reads: list[int] = []


async def test_a_waiter_hears_the_end_from_the_feed_not_a_poll(
    jobs: JobService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watch_module, "FALLBACK_POLL", 3600.0)  # only the feed can tell
    reads.clear()
    real = feed_module._data_version

    def counting(connection: sqlite3.Connection) -> int:
        reads.append(1)
        return real(connection)

    monkeypatch.setattr(feed_module, "_data_version", counting)
    job = jobs.submit(TrainRequest.model_validate({}))
    store = jobs.backend.store

    def run_it() -> None:
        store.start(job.id, "host:1")
        store.finish(job.id, "cancelled")

    async with anyio.create_task_group() as tasks:
        watcher = JobWatcher(jobs, tasks, max_streams=10, max_streams_per_job=10)
        tasks.start_soon(store.change_feed().follow, watcher.nudge, watcher.watching)
        states: list[str] = []

        async def follow() -> None:
            async for state in watcher.changes(job):
                states.append(state.status)

        tasks.start_soon(follow)
        with anyio.fail_after(30):
            while not await anyio.to_thread.run_sync(listening, store):
                await anyio.sleep(0.01)
        await anyio.to_thread.run_sync(run_it)
        with anyio.fail_after(30):
            while not states or states[-1] != "cancelled":
                await anyio.sleep(0.01)
        tasks.cancel_scope.cancel()
    assert states[0] == "queued"
    assert states[-1] == "cancelled"


async def test_without_the_feed_the_fallback_poll_still_sees_the_end(
    jobs: JobService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watch_module, "FALLBACK_POLL", 0.05)
    job = jobs.submit(TrainRequest.model_validate({}))
    async with anyio.create_task_group() as tasks:
        watcher = JobWatcher(jobs, tasks, max_streams=10, max_streams_per_job=10)
        # no feed at all
        tasks.start_soon(lambda: anyio.to_thread.run_sync(jobs.cancel, job.id))
        with anyio.fail_after(30):
            ended = await watcher.wait_end(job, 60)
        tasks.cancel_scope.cancel()
    assert ended.status == "cancelled"
