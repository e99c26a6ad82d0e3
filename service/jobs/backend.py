"""Build the job store and queue the settings ask for: SQLite files or one Redis database.

``RNNLAB_QUEUE_URL`` decides both: empty means ``jobs.db`` and ``queue.db`` under
``RNNLAB_DATA_DIR`` (one host); ``redis://host:port/db`` means the queue and the records
live in that database (any number of API replicas and workers).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from service.config import Settings
from service.jobs.queue import JobQueue, is_redis_url, make_huey
from service.jobs.store.base import JobStore
from service.jobs.store.redis import RedisJobStore
from service.jobs.store.sqlite import SqliteJobStore
from service.jobs.worker.tasks import register_tasks

STORE_FILE = "jobs.db"


@dataclass
class JobBackend:
    store: JobStore
    queue: JobQueue

    def ping(self) -> None:
        """Raise StoreUnavailableError or QueueUnavailableError unless both answer."""
        self.store.ping()
        self.queue.ping()

    def close(self) -> None:
        self.store.close()
        self.queue.close()


def open_store(settings: Settings) -> JobStore:
    if not settings.queue_url:
        return SqliteJobStore(Path(settings.data_dir) / STORE_FILE)
    if is_redis_url(settings.queue_url):
        return RedisJobStore(settings.queue_url)
    raise ValueError(f"RNNLAB_QUEUE_URL must be empty or redis://..., got {settings.queue_url!r}")


def open_backend(settings: Settings) -> JobBackend:
    """The store and the queue (with the training task registered) for these settings."""
    store = open_store(settings)
    queue = JobQueue(make_huey(settings.queue_url, Path(settings.data_dir)))
    register_tasks(store, queue, settings)
    return JobBackend(store, queue)
