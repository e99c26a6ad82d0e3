"""service.jobs.store.feed: the API hears of a job's changes from its store, not by polling."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

import service.jobs.store.feed as feed_module
from service.jobs.store.base import JobStore
from service.jobs.store.redis import RedisJobStore
from service.jobs.store.sqlite import SqliteJobStore
from tests._redis import redis_or_skip
from tests.service.jobs.store.test_base import record
from tests.service.jobs.store.test_sqlite import database_fds

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JobStore]:
    backend: JobStore = (
        SqliteJobStore(tmp_path / "jobs.db")
        if request.param == "sqlite"
        else RedisJobStore(redis_or_skip())
    )
    yield backend
    backend.close()


async def always() -> None:
    """Someone is watching."""


async def test_a_transition_made_elsewhere_is_heard(store: JobStore) -> None:
    job = record()
    store.create(job, "{}")
    heard: list[str | None] = []
    got = anyio.Event()

    def changed(job_id: str | None) -> None:
        heard.append(job_id)
        got.set()

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(store.change_feed().follow, changed, always)
        with anyio.fail_after(30):
            while not heard:  # until the feed is listening, a write may go unheard
                await anyio.to_thread.run_sync(store.start, job.id, "host:1")
                await anyio.to_thread.run_sync(store.requeue, job.id, job.progress)
                with anyio.move_on_after(0.5):
                    await got.wait()
        tasks.cancel_scope.cancel()
    # Redis names the job; SQLite says only that something changed.
    assert set(heard) <= {job.id, None}


async def test_sqlite_reads_nothing_while_nobody_watches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SqliteJobStore(tmp_path / "jobs.db")
    store.create(record(), "{}")
    reads: list[int] = []
    real = feed_module._data_version

    def counting(connection: object) -> int:
        reads.append(1)
        return real(connection)  # type: ignore[arg-type]

    monkeypatch.setattr(feed_module, "_data_version", counting)
    watched = anyio.Event()

    async def watching() -> None:
        await watched.wait()

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(store.change_feed().follow, lambda _: None, watching)
        for _ in range(20):
            await anyio.sleep(0.01)  # give an idle feed every chance to read
        assert reads == []
        watched.set()
        with anyio.fail_after(30):
            while not reads:
                await anyio.sleep(0.01)
        tasks.cancel_scope.cancel()
    store.close()


async def test_sqlite_gives_its_file_back_once_nobody_watches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feed_module, "IDLE_CLOSE", 0.05)
    store = SqliteJobStore(tmp_path / "jobs.db")
    store.create(record(), "{}")
    store.close()
    path = tmp_path / "jobs.db"
    watched = anyio.Event()
    watched.set()

    async def watching() -> None:
        await watched.wait()

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(store.change_feed().follow, lambda _: None, watching)
        with anyio.fail_after(30):
            while database_fds(path) == 0:  # watched: the feed opens its connection
                await anyio.sleep(0.01)
            watched = anyio.Event()  # the last waiter leaves
            while database_fds(path) != 0:
                await anyio.sleep(0.01)
            watched.set()  # and a new one comes: the feed opens it again
            while database_fds(path) == 0:
                await anyio.sleep(0.01)
        tasks.cancel_scope.cancel()
