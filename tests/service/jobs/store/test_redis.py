"""service.jobs.store.redis: what only the Redis store does (reachability, upgrades)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis

from service.jobs.models import utcnow
from service.jobs.store.base import JobNotFoundError, StoreUnavailableError
from service.jobs.store.redis import RedisJobStore
from tests._redis import redis_or_skip
from tests.service.jobs.store.test_base import ended_at


def test_an_unreachable_redis_raises_store_unavailable() -> None:
    with pytest.raises(StoreUnavailableError):
        RedisJobStore("redis://127.0.0.1:1/0").ping()


@pytest.mark.redis
def test_redis_indexes_records_finished_before_the_finished_index_existed() -> None:
    url = redis_or_skip()
    store = RedisJobStore(url)
    jobs = [ended_at(store, "succeeded", utcnow() - timedelta(days=1)) for _ in range(2)]
    client = redis.Redis.from_url(url)
    client.delete("rnnlab:finished", "rnnlab:finished:backfilled")  # as an older rnnlab left it
    client.close()
    store.close()
    upgraded = RedisJobStore(url)
    try:
        assert upgraded.purge_finished(utcnow() - timedelta(hours=1), limit=1) == 1
        assert upgraded.purge_finished(utcnow() - timedelta(hours=1), limit=10) == 1
        for job in jobs:
            with pytest.raises(JobNotFoundError):
                upgraded.get(job.id)
    finally:
        upgraded.close()
