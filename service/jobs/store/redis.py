"""Job records in Redis: the distributed backend, shared by API replicas and workers anywhere.

Layout under ``prefix``: ``{prefix}:job:{id}`` holds the record as JSON and
``{prefix}:request:{id}`` the request it was submitted with; the sorted sets
``{prefix}:jobs`` and ``{prefix}:jobs:{status}`` index ids (all scores 0, so members sort
by id, that is by age); ``{prefix}:finished`` indexes finished jobs by when they ended
(score: Unix time of ``finished_at``), for the retention purge; ``{prefix}:traj:{id}`` is
a hash start -> float64 bytes. Transitions use WATCH/MULTI and retry when another process
wrote the record first; every index moves in the same MULTI as the record, so the status
sets are exact counts at every instant (``count_by_status`` reads them in one MULTI).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError, WatchError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.training import Trajectory
from service.jobs.models import FINISHED_STATUSES, JOB_STATUSES, JobRecord, JobStatus
from service.jobs.store.base import (
    JobNotFoundError,
    JobStore,
    Mutation,
    StoreFullError,
    StoreUnavailableError,
    decode_trajectory,
    encode_trajectory,
)
from service.jobs.store.feed import ChangeFeed, RedisChangeFeed
from service.redaction import redact

T = TypeVar("T")

BACKFILL_PAGE = 500  # finished records indexed per round trip by the one-time backfill


class RedisJobStore(JobStore):
    """Job records in the Redis database at ``url``."""

    def __init__(self, url: str, *, prefix: str = "rnnlab") -> None:
        self.url = url
        self.prefix = prefix
        self._redis = redis.Redis.from_url(
            url,
            socket_connect_timeout=1.0,
            socket_timeout=5.0,
            health_check_interval=15,
        )
        self._finished_indexed = False  # see _index_finished_once

    @property
    def channel(self) -> str:
        """Where every transition publishes its job's id (``service.jobs.store.feed``)."""
        return self._key("changed")

    def change_feed(self) -> ChangeFeed:
        return RedisChangeFeed(self.url, self.channel)

    def _key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def _call(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except (RedisConnectionError, RedisTimeoutError) as exc:
            raise StoreUnavailableError(f"job store (Redis): {redact(str(exc))}") from exc
        except ResponseError as exc:  # e.g. OOM, MISCONF (cannot persist: disk full), READONLY
            error = (
                StoreFullError if str(exc).startswith(("OOM", "MISCONF")) else StoreUnavailableError
            )
            raise error(f"job store (Redis): {redact(str(exc))}") from exc

    def close(self) -> None:
        self._redis.close()

    def ping(self) -> None:
        self._call(self._redis.ping)

    def epoch(self) -> str:
        key = self._key("epoch")

        def run() -> str:
            self._redis.set(key, uuid.uuid4().hex, nx=True)
            return _text(self._redis.get(key) or b"")

        return self._call(run)

    def durability_warning(self) -> str | None:
        """A Redis that saves neither snapshots nor an append-only file forgets every job
        when it restarts; say so (CONFIG may be disabled: then INFO tells about AOF only)."""

        def run() -> str | None:
            try:
                config = self._redis.config_get("save", "appendonly")
            except ResponseError:  # CONFIG renamed away: look at what INFO tells
                info = self._redis.info("persistence")
                if int(info.get("aof_enabled", 0)) or int(info.get("rdb_saves", 0)):
                    return None
                return "cannot tell whether Redis persists its data (CONFIG is disabled)"
            if config.get("appendonly") == "yes" or config.get("save"):
                return None
            return (
                "Redis persists nothing (no appendonly, no save): a restart of Redis erases "
                "every job; start it with --appendonly yes"
            )

        return self._call(run)

    def create(self, record: JobRecord, request: str) -> None:
        def run() -> None:
            with self._redis.pipeline() as pipe:
                pipe.set(self._key("job", record.id), record.model_dump_json())
                pipe.set(self._key("request", record.id), request)
                pipe.zadd(self._key("jobs"), {record.id: 0})
                pipe.zadd(self._key("jobs", record.status), {record.id: 0})
                if record.finished and record.finished_at is not None:
                    pipe.zadd(self._key("finished"), {record.id: record.finished_at.timestamp()})
                pipe.execute()

        self._call(run)

    def get(self, job_id: str) -> JobRecord:
        doc = self._call(lambda: self._redis.get(self._key("job", job_id)))
        if doc is None:
            raise JobNotFoundError(job_id)
        return JobRecord.model_validate_json(doc)

    def get_request(self, job_id: str) -> str:
        doc = self._call(lambda: self._redis.get(self._key("request", job_id)))
        if doc is None:
            raise JobNotFoundError(job_id)
        return _text(doc)

    def list_jobs(
        self, *, status: JobStatus | None = None, limit: int = 50, before: str | None = None
    ) -> list[JobRecord]:
        index = self._key("jobs", status) if status else self._key("jobs")
        upper = f"({before}" if before else "+"

        def run() -> list[Any]:
            ids = self._redis.zrevrangebylex(index, upper, "-", start=0, num=limit)
            return self._redis.mget([self._key("job", _text(i)) for i in ids]) if ids else []

        docs = self._call(run)
        return [JobRecord.model_validate_json(doc) for doc in docs if doc is not None]

    def count(self, status: JobStatus) -> int:
        return int(self._call(lambda: self._redis.zcard(self._key("jobs", status))))

    def count_by_status(self) -> dict[JobStatus, int]:
        def run() -> list[Any]:
            with self._redis.pipeline() as pipe:  # MULTI: one consistent snapshot
                for status in JOB_STATUSES:
                    pipe.zcard(self._key("jobs", status))
                return pipe.execute()

        return dict(zip(JOB_STATUSES, map(int, self._call(run)), strict=True))

    def delete(self, job_id: str) -> None:
        self._call(lambda: self._delete_all([job_id]))

    def _delete_all(self, job_ids: Sequence[str]) -> int:
        """Delete jobs and every index entry of theirs in one MULTI; how many records existed."""
        with self._redis.pipeline() as pipe:
            for job_id in job_ids:
                pipe.delete(self._key("job", job_id))
                pipe.delete(self._key("request", job_id), self._key("traj", job_id))
            pipe.zrem(self._key("jobs"), *job_ids)
            for status in JOB_STATUSES:
                pipe.zrem(self._key("jobs", status), *job_ids)
            pipe.zrem(self._key("finished"), *job_ids)
            replies = pipe.execute()
        return sum(int(n) for n in replies[0 : 2 * len(job_ids) : 2])

    def purge_finished(self, finished_before: datetime, limit: int) -> int:
        def run() -> int:
            self._index_finished_once()
            cutoff = f"({finished_before.timestamp()!r}"  # exclusive: ended strictly before
            ids: list[Any] = self._redis.zrangebyscore(
                self._key("finished"), "-inf", cutoff, start=0, num=limit
            )
            # No WATCH: a finished record never changes again, so nothing can race this.
            return self._delete_all([_text(i) for i in ids]) if ids else 0

        return self._call(run)

    def _index_finished_once(self) -> None:
        """Put records that finished before ``{prefix}:finished`` existed into it, once.

        An older rnnlab kept no such index; without this, its finished jobs would never
        be purged. A marker key makes it once per database; racing processes add the same
        members, and an id that another process purged meanwhile is dropped again by the
        next purge (deleting a missing record is harmless).
        """
        if self._finished_indexed:
            return
        marker = self._key("finished", "backfilled")
        if not self._redis.exists(marker):
            for status in sorted(FINISHED_STATUSES):
                self._backfill(self._key("jobs", status))
            self._redis.set(marker, 1)
        self._finished_indexed = True

    def _backfill(self, index: str) -> None:
        after = "-"
        while True:
            ids = self._redis.zrangebylex(index, after, "+", start=0, num=BACKFILL_PAGE)
            if not ids:
                return
            docs = self._redis.mget([self._key("job", _text(i)) for i in ids])
            ended = {}
            for doc in docs:
                job = None if doc is None else JobRecord.model_validate_json(doc)
                if job is not None and job.finished_at is not None:
                    ended[job.id] = job.finished_at.timestamp()
            if ended:
                self._redis.zadd(self._key("finished"), ended)
            after = f"({_text(ids[-1])}"

    def put_trajectories(self, job_id: str, trajectories: Sequence[Trajectory]) -> None:
        def run() -> None:
            with self._redis.pipeline() as pipe:
                for i, trajectory in enumerate(trajectories):
                    pipe.hset(self._key("traj", job_id), str(i), encode_trajectory(trajectory))
                pipe.execute()

        self._call(run)

    def get_trajectory(self, job_id: str, start: int = 0) -> Trajectory | None:
        data = self._call(lambda: self._redis.hget(self._key("traj", job_id), str(start)))
        return None if data is None else decode_trajectory(data)  # type: ignore[arg-type]

    def _update(self, job_id: str, mutate: Mutation) -> JobRecord | None:
        key = self._key("job", job_id)

        def run() -> JobRecord | None:
            with self._redis.pipeline() as pipe:
                while True:
                    try:
                        pipe.watch(key)  # type: ignore[no-untyped-call]
                        doc = pipe.get(key)
                        if doc is None:
                            raise JobNotFoundError(job_id)
                        old = JobRecord.model_validate_json(doc)
                        new = mutate(old)
                        if new is None:
                            pipe.unwatch()
                            return None
                        pipe.multi()
                        pipe.set(key, new.model_dump_json())
                        if new.status != old.status:
                            pipe.zrem(self._key("jobs", old.status), job_id)
                            pipe.zadd(self._key("jobs", new.status), {job_id: 0})
                        if new.finished and new.finished_at is not None and not old.finished:
                            ended = new.finished_at.timestamp()
                            pipe.zadd(self._key("finished"), {job_id: ended})
                        pipe.publish(self.channel, job_id)
                        pipe.execute()
                        return new
                    except WatchError:
                        continue

        return self._call(run)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
