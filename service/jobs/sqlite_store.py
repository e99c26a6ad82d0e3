"""Job records in a SQLite file (WAL): the embedded backend, shared by the processes of one host.

Each thread of each process gets its own connection (SQLite connections must not cross a
fork, and the worker's heartbeat thread writes while its training thread computes).
Transitions run under ``BEGIN IMMEDIATE``, which serialises writers across processes.

``finished_at`` lives in the JSON document only; the retention purge finds old records
through a partial index on that expression (built by ``create index`` for records stored
before it existed, so an older ``jobs.db`` needs no migration). The index covers finished
rows only, so the heartbeat writes of running jobs never touch it.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from core.training import Trajectory
from service.jobs.models import JOB_STATUSES, JobRecord, JobStatus
from service.jobs.store import (
    JobNotFoundError,
    JobStore,
    Mutation,
    StoreUnavailableError,
    decode_trajectory,
    encode_trajectory,
)

_SCHEMA = (
    "create table if not exists jobs ("
    " id text primary key, status text not null, doc text not null, request text not null)",
    "create index if not exists jobs_status_id on jobs (status, id)",
    "create table if not exists trajectories ("
    " job_id text not null, start integer not null, data blob not null,"
    " primary key (job_id, start))",
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


class SqliteJobStore(JobStore):
    """Job records in ``path``; safe to use from many threads and processes at once."""

    def __init__(self, path: Path, *, timeout: float = 10.0) -> None:
        self.path = path
        self._timeout = timeout
        self._local = threading.local()
        self._schema_ready = False
        self._opened: list[tuple[int, sqlite3.Connection]] = []  # (pid, conn), for close()
        self._opened_lock = threading.Lock()

    @contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = self._connection()
            yield conn
        except (sqlite3.OperationalError, OSError) as exc:  # locked too long, unwritable...
            raise StoreUnavailableError(f"job store {self.path}: {exc}") from exc

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # check_same_thread=False only so close() may close it; one thread uses each.
        conn = sqlite3.connect(
            self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False
        )
        conn.execute("pragma journal_mode=wal")
        conn.execute("pragma synchronous=normal")
        if not self._schema_ready:
            for statement in _SCHEMA:
                conn.execute(statement)
            self._schema_ready = True
        self._local.conn, self._local.pid = conn, os.getpid()
        with self._opened_lock:
            self._opened.append((os.getpid(), conn))
        return conn

    def close(self) -> None:
        """Close every connection this process opened (any thread's)."""
        with self._opened_lock:
            mine = [conn for pid, conn in self._opened if pid == os.getpid()]
            self._opened = []
        for conn in mine:
            conn.close()
        self._local = threading.local()

    def ping(self) -> None:
        with self._conn() as conn:
            conn.execute("select count(*) from jobs where status = 'queued'").fetchone()

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
                conn.execute("rollback")
                raise
        return new
