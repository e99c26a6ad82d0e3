"""service.jobs.store.sqlite: what only the SQLite store does (its file, its connections)."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

import pytest

from service.jobs.store.base import StoreUnavailableError
from service.jobs.store.sqlite import SqliteJobStore
from tests.service.jobs.store.test_base import record


def test_a_database_that_cannot_be_made_raises_store_unavailable(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(StoreUnavailableError):  # a directory cannot be made under a file
        SqliteJobStore(tmp_path / "file" / "jobs.db").ping()


def database_fds(path: Path) -> int:
    """Files of this process open on the database (its WAL and shared memory included)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(FileNotFoundError):  # the listing's own fd, closed by now
            count += os.readlink(f"/proc/self/fd/{fd}").startswith(str(path))
    return count


def test_threads_that_come_and_go_leave_no_connection_behind(tmp_path: Path) -> None:
    store = SqliteJobStore(tmp_path / "jobs.db")
    job = record()
    store.create(job, "{}")
    baseline = database_fds(tmp_path / "jobs.db")
    for _ in range(20):  # as 200 short-lived threads (one per job monitor) would
        threads = [threading.Thread(target=store.get, args=(job.id,)) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert database_fds(tmp_path / "jobs.db") <= baseline + 3 * (SqliteJobStore.POOL_SIZE - 1)
    store.close()
    assert database_fds(tmp_path / "jobs.db") == 0
