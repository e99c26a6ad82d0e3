"""Job records in a SQLite file (WAL): the embedded backend, shared by the processes of one host.

Each process keeps a small pool of connections that its threads borrow one call at a
time (see ``_ConnectionPool``). Transitions run under ``BEGIN IMMEDIATE``, which
serialises writers across processes.

``finished_at`` lives in the JSON document only; the retention purge finds old records
through a partial index on that expression (built by ``create index`` for records stored
before it existed, so an older ``jobs.db`` needs no migration). The index covers finished
rows only, so the heartbeat writes of running jobs never touch it. A little over 300
lines: the connection pool (with why it is written here) sits with its only user.
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from core.training import Trajectory
from service.jobs.models import JOB_STATUSES, JobRecord, JobStatus
from service.jobs.store.base import (
    JobNotFoundError,
    JobStore,
    Mutation,
    StoreFullError,
    StoreUnavailableError,
    decode_trajectory,
    encode_trajectory,
)
from service.jobs.store.feed import ChangeFeed, SqliteChangeFeed
from service.redaction import redact_paths

logger = logging.getLogger("rnnlab.jobs")

_SCHEMA = (
    "create table if not exists jobs ("
    " id text primary key, status text not null, doc text not null, request text not null)",
    "create index if not exists jobs_status_id on jobs (status, id)",
    "create table if not exists trajectories ("
    " job_id text not null, start integer not null, data blob not null,"
    " primary key (job_id, start))",
    "create table if not exists meta (key text primary key, value text not null)",
    "create index if not exists jobs_finished_at on jobs"
    " (julianday(json_extract(doc, '$.finished_at')))"
    " where status in ('succeeded', 'failed', 'cancelled')",
)

# ``indexed by``: without ANALYZE statistics SQLite prefers jobs_status_id and would sort
# every finished job on each pass; naming the index also fails loudly if it cannot serve.
_OLDEST_FINISHED = (
    "select id from jobs indexed by jobs_finished_at"
    " where status in ('succeeded', 'failed', 'cancelled')"
    " and julianday(json_extract(doc, '$.finished_at')) < julianday(?)"
    " order by julianday(json_extract(doc, '$.finished_at')) limit ?"
)


class _ConnectionPool:
    """At most ``size`` connections per process, lent to one thread at a time.

    Threads come and go (the API's worker threads, one monitor thread per running job),
    so connections belong to the pool, not to threads: a thread borrows one for a call
    and gives it back, and the number of open files stays bounded by ``size`` whatever
    the number of threads or jobs. A connection whose call failed at the database level
    is closed rather than lent again. After a fork the child starts an empty pool and
    leaves the parent's connections alone (SQLite connections must not cross a fork).
    When the last lent connection comes back while some have been idle for
    ``idle_seconds``, the pool closes them all: SQLite keeps a closed connection's file
    open while another connection of the process still holds a lock on it (a WAL reader
    always does) and closes it only with the last one, so closing them together is what
    gives the files back after a burst (the next call opens a fresh one). Written here
    because ``sqlite3`` has no pool and this one is the 60 lines of a semaphore and a
    list; SQLAlchemy's would bring a database toolkit along for them.
    """

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        size: int,
        wait: float,
        idle_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._connect = connect
        self._size = size
        self._wait = wait
        self._idle_seconds = idle_seconds
        self._clock = clock
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._idle: list[tuple[sqlite3.Connection, float]] = []  # oldest first, with when
        self._lent = 0
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(self._size)

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        if self._pid != os.getpid():
            self._reset()
        if not self._slots.acquire(timeout=self._wait):
            raise sqlite3.OperationalError(f"all {self._size} connections stayed busy")
        try:
            with self._lock:
                conn = self._idle.pop()[0] if self._idle else None
                self._lent += 1
            if conn is None:
                conn = self._connect()
            closing = []
            try:
                yield conn
            except sqlite3.DatabaseError:
                closing.append(conn)
                raise
            finally:
                now = self._clock()
                with self._lock:
                    self._lent -= 1
                    if not closing:
                        self._idle.append((conn, now))
                    if (
                        self._lent == 0
                        and self._idle
                        and self._idle[0][1] <= now - self._idle_seconds
                    ):
                        closing += [idle for idle, _ in self._idle]
                        self._idle = []
                for idle in closing:
                    idle.close()
        finally:
            self._slots.release()

    @property
    def open_connections(self) -> int:
        """Connections held idle by this process (the busy ones are lent out)."""
        return len(self._idle) if self._pid == os.getpid() else 0

    def close(self) -> None:
        """Close this process's idle connections."""
        if self._pid != os.getpid():
            return
        with self._lock:
            idle, self._idle = self._idle, []
        for conn, _ in idle:
            conn.close()


class SqliteJobStore(JobStore):
    """Job records in ``path``; safe to use from many threads and processes at once."""

    POOL_SIZE = 8  # connections per process: more threads than this wait their turn

    def __init__(self, path: Path, *, timeout: float = 10.0) -> None:
        self.path = path
        self._timeout = timeout
        self._schema_ready = False
        self._pool = _ConnectionPool(self._open, self.POOL_SIZE, wait=timeout)

    def change_feed(self) -> ChangeFeed:
        return SqliteChangeFeed(self.path)

    @contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        try:
            with self._pool.connection() as conn:
                yield conn
        except (sqlite3.DatabaseError, OSError) as exc:
            # No path in the message: it reaches clients (the log line names the file).
            logger.warning("job store %s: %s", self.path, exc)
            full = getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or (
                isinstance(exc, OSError) and exc.errno == errno.ENOSPC
            )
            error = StoreFullError if full else StoreUnavailableError
            raise error(f"job store (SQLite): {redact_paths(str(exc))}") from exc

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # check_same_thread=False: the pool lends a connection to one thread at a time.
        conn = sqlite3.connect(
            self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute("pragma journal_mode=wal")
            conn.execute("pragma synchronous=normal")
            if not self._schema_ready:
                for statement in _SCHEMA:
                    conn.execute(statement)
                self._schema_ready = True
        except BaseException:
            conn.close()
            raise
        return conn

    def close(self) -> None:
        """Close this process's idle connections."""
        self._pool.close()

    def ping(self) -> None:
        with self._conn() as conn:
            conn.execute("select count(*) from jobs where status = 'queued'").fetchone()

    def epoch(self) -> str:
        with self._conn() as conn:
            conn.execute(
                "insert or ignore into meta (key, value) values ('epoch', ?)", (uuid.uuid4().hex,)
            )
            row = conn.execute("select value from meta where key = 'epoch'").fetchone()
        return str(row[0])

    def create(self, record: JobRecord, request: str) -> None:
        with self._conn() as conn:
            conn.execute(
                "insert into jobs (id, status, doc, request) values (?, ?, ?, ?)",
                (record.id, record.status, record.model_dump_json(), request),
            )

    def get_request(self, job_id: str) -> str:
        with self._conn() as conn:
            row = conn.execute("select request from jobs where id = ?", (job_id,)).fetchone()
        if row is None:
            raise JobNotFoundError(job_id)
        return str(row[0])

    def get(self, job_id: str) -> JobRecord:
        with self._conn() as conn:
            row = conn.execute("select doc from jobs where id = ?", (job_id,)).fetchone()
        if row is None:
            raise JobNotFoundError(job_id)
        return JobRecord.model_validate_json(row[0])

    def list_jobs(
        self, *, status: JobStatus | None = None, limit: int = 50, before: str | None = None
    ) -> list[JobRecord]:
        where: list[str] = []
        params: list[str] = []
        if status is not None:
            where.append("status = ?")
            params.append(status)
        if before is not None:
            where.append("id < ?")
            params.append(before)
        sql = "select doc from jobs"
        if where:
            sql += " where " + " and ".join(where)
        sql += " order by id desc limit ?"
        with self._conn() as conn:
            rows = conn.execute(sql, (*params, limit)).fetchall()
        return [JobRecord.model_validate_json(row[0]) for row in rows]

    def count(self, status: JobStatus) -> int:
        with self._conn() as conn:
            row = conn.execute("select count(*) from jobs where status = ?", (status,)).fetchone()
        return int(row[0])

    def count_by_status(self) -> dict[JobStatus, int]:
        with self._conn() as conn:
            rows = conn.execute("select status, count(*) from jobs group by status").fetchall()
        counts = dict.fromkeys(JOB_STATUSES, 0)
        counts.update({status: int(n) for status, n in rows if status in counts})
        return counts

    def delete(self, job_id: str) -> None:
        with self._conn() as conn:
            conn.execute("delete from jobs where id = ?", (job_id,))
            conn.execute("delete from trajectories where job_id = ?", (job_id,))

    def purge_finished(self, finished_before: datetime, limit: int) -> int:
        with self._conn() as conn:
            conn.execute("begin immediate")
            try:
                rows = conn.execute(
                    _OLDEST_FINISHED, (finished_before.isoformat(), limit)
                ).fetchall()
                conn.executemany("delete from trajectories where job_id = ?", rows)
                conn.executemany("delete from jobs where id = ?", rows)
                conn.execute("commit")
            except BaseException:
                if conn.in_transaction:  # SQLite rolls back on its own after some errors
                    conn.execute("rollback")
                raise
        return len(rows)

    def put_trajectories(self, job_id: str, trajectories: Sequence[Trajectory]) -> None:
        with self._conn() as conn:
            conn.executemany(
                "insert or replace into trajectories (job_id, start, data) values (?, ?, ?)",
                [(job_id, i, encode_trajectory(t)) for i, t in enumerate(trajectories)],
            )

    def get_trajectory(self, job_id: str, start: int = 0) -> Trajectory | None:
        with self._conn() as conn:
            row = conn.execute(
                "select data from trajectories where job_id = ? and start = ?", (job_id, start)
            ).fetchone()
        return None if row is None else decode_trajectory(row[0])

    def _update(self, job_id: str, mutate: Mutation) -> JobRecord | None:
        with self._conn() as conn:
            conn.execute("begin immediate")
            try:
                row = conn.execute("select doc from jobs where id = ?", (job_id,)).fetchone()
                if row is None:
                    raise JobNotFoundError(job_id)
                new = mutate(JobRecord.model_validate_json(row[0]))
                if new is not None:
                    conn.execute(
                        "update jobs set status = ?, doc = ? where id = ?",
                        (new.status, new.model_dump_json(), job_id),
                    )
                conn.execute("commit")
            except BaseException:
                if conn.in_transaction:  # SQLite rolls back on its own after some errors
                    conn.execute("rollback")
                raise
        return new
