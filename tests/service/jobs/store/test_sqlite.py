"""service.jobs.store.sqlite: what only the SQLite store does (its file, its connections)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from pathlib import Path

import pytest

from service.jobs.store.base import StoreUnavailableError
from service.jobs.store.sqlite import SqliteJobStore, _ConnectionPool
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


def test_connections_idle_past_their_time_are_closed_when_none_is_lent(tmp_path: Path) -> None:
    # After a burst the pool gives every file back (SQLite releases a closed connection's
    # file only with the process's last connection): the fd count returns to its start.
    path = tmp_path / "jobs.db"
    now = [0.0]
    pool = _ConnectionPool(
        lambda: sqlite3.connect(path, check_same_thread=False),
        size=4,
        wait=1.0,
        idle_seconds=10.0,
        clock=lambda: now[0],
    )
    with pool.connection(), pool.connection(), pool.connection(), pool.connection():
        pass  # four threads' worth at once
    assert pool.open_connections == 4
    now[0] = 5.0
    with pool.connection():
        pass
    assert pool.open_connections == 4  # none idle for long enough yet
    now[0] = 20.0
    with pool.connection():
        now[0] = 21.0
        with pool.connection():
            pass
        assert pool.open_connections == 3  # one is still lent: nothing is closed under it
    assert pool.open_connections == 0
    assert database_fds(path) == 0
    with pool.connection() as conn:
        assert conn.execute("select 1").fetchone() == (1,)  # a fresh one when needed
    assert pool.open_connections == 1
    pool.close()
    assert database_fds(path) == 0
