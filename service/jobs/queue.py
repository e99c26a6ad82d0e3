"""The task queue: huey on SQLite (embedded, one host) or Redis (distributed), chosen by URL.

The queue carries job ids only; the job's request, progress and result live in the job
store, so the queue never holds anything a client reads. A task's huey id is its job id,
which lets the reaper match queued jobs against the queue's pending tasks.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from huey import Huey
from huey.storage import RedisStorage, SqliteStorage
from redis import ConnectionPool
from redis.exceptions import RedisError

from service.redaction import redact, redact_paths, redact_url

logger = logging.getLogger("rnnlab.queue")

QUEUE_NAME = "rnnlab"
TRAIN_TASK = "rnnlab.train"
QUEUE_FILE = "queue.db"

# Idle SQLite workers poll the queue table (a one-row indexed read); these bound the
# delay before a new job is seen to 0.1 s (huey's default backs off to 10 s, which
# ?wait= would feel). Redis workers block on the list instead and see jobs at once.
SQLITE_POLL = {"initial_delay": 0.02, "backoff": 1.5, "max_delay": 0.1}


OUTAGE_BACKOFF = (0.5, 10.0)  # seconds between a worker's tries while the queue is down


class QueueUnavailableError(ConnectionError):
    """The queue's backend does not answer."""


def is_redis_url(url: str) -> bool:
    return url.startswith(("redis://", "rediss://", "unix://"))


class _OutageAware:
    """A worker's dequeue that rides out an outage: said once, retried with backoff.

    huey logs a traceback for every failed dequeue and retries at once (Redis) or soon
    (SQLite): an unreachable server printed 60 tracebacks in 10 seconds. Here a failed
    dequeue logs one warning per outage, waits (doubling up to 10 s) and reports "no
    task"; the first dequeue that works again says so. (Not tenacity: huey's worker loop
    does the retrying by calling dequeue again; this only paces it and tells it once.)
    """

    describe = "job queue"
    _down_since: float | None = None
    _wait: float = OUTAGE_BACKOFF[0]

    def dequeue(self) -> bytes | None:
        try:
            data: bytes | None = super().dequeue()  # type: ignore[misc]
        except (RedisError, sqlite3.Error, OSError) as exc:
            self._down(exc)
            return None
        if self._down_since is not None:
            logger.info("%s answers again", self.describe)
            self._down_since = None
        return data

    def _down(self, exc: Exception) -> None:
        if self._down_since is None:
            self._down_since = time.monotonic()
            self._wait = OUTAGE_BACKOFF[0]
            logger.warning(
                "%s unavailable (%s); workers retry with backoff until it answers",
                self.describe,
                exc,
            )
        threading.Event().wait(self._wait)
        self._wait = min(self._wait * 2, OUTAGE_BACKOFF[1])


class _RedisQueue(_OutageAware, RedisStorage):  # type: ignore[misc]
    describe = "job queue (Redis)"


class _SqliteQueue(_OutageAware, SqliteStorage):  # type: ignore[misc]
    """huey's SQLite storage, creating its tables on first use rather than at construction.

    huey creates them in its constructor, so a corrupt or unwritable ``queue.db`` used to
    stop the whole API from starting; this way it is one component that answers 503.
    """

    describe = "job queue (SQLite)"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, create_tables=False, **kwargs)
        self._schema_ready = False

    @contextlib.contextmanager
    def db(self, commit: bool = False, close: bool = False) -> Iterator[Any]:
        if not self._schema_ready:
            self._schema_ready = True  # initialize_schema itself goes through db()
            try:
                self.initialize_schema()
            except BaseException:
                self._schema_ready = False
                raise
        with super().db(commit=commit, close=close) as cursor:
            yield cursor


def make_huey(queue_url: str, data_dir: Path) -> Huey:
    """huey on SQLite under ``data_dir`` when ``queue_url`` is empty, on Redis for redis://."""
    if not queue_url:
        with contextlib.suppress(OSError):  # an unusable directory shows when the queue is used
            data_dir.mkdir(parents=True, exist_ok=True)
        return Huey(
            QUEUE_NAME,
            results=False,
            storage_class=_SqliteQueue,
            filename=str(data_dir / QUEUE_FILE),
            timeout=10,
        )
    if is_redis_url(queue_url):
        # Short connect timeout so a down server answers 503 quickly; the read timeout
        # must exceed huey's 1 s blocking pop.
        pool = ConnectionPool.from_url(queue_url, socket_connect_timeout=1.0, socket_timeout=5.0)
        return Huey(QUEUE_NAME, results=False, storage_class=_RedisQueue, connection_pool=pool)
    raise ValueError(
        f"RNNLAB_QUEUE_URL must be empty or redis://..., got {redact_url(queue_url)!r}"
    )


class JobQueue:
    """Enqueue training jobs and look at what is pending."""

    def __init__(self, huey: Huey) -> None:
        self.huey = huey
        self._train: Any = None

    @property
    def is_sqlite(self) -> bool:
        return isinstance(self.huey.storage, SqliteStorage)

    def register(self, train: Callable[..., None]) -> None:
        """Install the function workers run for a job: ``train(job_id, task=...)``."""
        self._train = self.huey.task(context=True, name=TRAIN_TASK)(train)

    def enqueue(self, job_id: str) -> None:
        if self._train is None:
            raise RuntimeError("JobQueue.register() was not called")
        self._guard(lambda: self.huey.enqueue(self._train.s(job_id, id=job_id)))

    def revoke(self, job_id: str) -> None:
        """Tell workers to skip a queued job's task (the store's status is the real guard)."""
        self._guard(lambda: self.huey.revoke_by_id(job_id, revoke_once=True))

    def pending_job_ids(self) -> set[str]:
        tasks = self._guard(self.huey.pending)
        return {str(task.id) for task in tasks}

    def pending_count(self) -> int:
        """Tasks waiting in the queue: one indexed count (SQLite) or LLEN (Redis).

        A cancelled job's task counts until a worker takes it and skips it.
        """
        return int(self._guard(self.huey.pending_count))

    def ping(self) -> None:
        self.pending_count()

    def close(self) -> None:
        close = getattr(self.huey.storage, "close", None)
        if close is not None:
            close()

    def _guard(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except (RedisError, sqlite3.Error, OSError) as exc:
            raise QueueUnavailableError(f"job queue: {redact_paths(redact(str(exc)))}") from exc
