"""service.jobs.metrics: the job series of /metrics, on both backends, and when one is down."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import httpx
import pytest

from service.config import Settings
from service.deps import app_state
from service.jobs.service import JobService
from service.jobs.store.base import StoreUnavailableError
from tests._net import free_port
from tests._redis import redis_or_skip
from tests.service._api import running
from tests.service._jobs import InlineWorker

pytestmark = pytest.mark.anyio

ALL_ZERO = dict.fromkeys(("queued", "running", "succeeded", "failed", "cancelled"), 0.0)


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    queue_url = redis_or_skip() if request.param == "redis" else ""
    return Settings(data_dir=tmp_path, queue_url=queue_url)


async def scrape(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200
    return response.text


def jobs_by_status(text: str) -> dict[str, float]:
    found = re.findall(r'^rnnlab_jobs\{status="(\w+)"\} (\S+)$', text, flags=re.MULTILINE)
    return {status: float(value) for status, value in found}


def queue_pending(text: str) -> float | None:
    found = re.findall(r"^rnnlab_queue_pending (\S+)$", text, flags=re.MULTILINE)
    return float(found[0]) if found else None


async def test_queued_jobs_and_the_queue_depth(settings: Settings) -> None:
    async with running(settings) as (_, client):
        empty = await scrape(client)
        ids = [(await client.post("/train", json={})).json()["id"] for _ in range(2)]
        queued = await scrape(client)
        assert (await client.delete(f"/jobs/{ids[0]}")).status_code == 200
        one_cancelled = await scrape(client)
    assert (jobs_by_status(empty), queue_pending(empty)) == (ALL_ZERO, 0)
    assert (jobs_by_status(queued), queue_pending(queued)) == (ALL_ZERO | {"queued": 2}, 2)
    assert jobs_by_status(one_cancelled) == ALL_ZERO | {"queued": 1, "cancelled": 1}
    assert queue_pending(one_cancelled) == 2  # a cancelled job's task waits to be skipped


async def test_one_succeeded_and_one_cancelled(settings: Settings) -> None:
    async with running(settings) as (app, client):
        jobs: JobService = app_state(app).jobs
        cancelled = (await client.post("/train", json={})).json()
        assert (await client.delete(f"/jobs/{cancelled['id']}")).status_code == 200
        with InlineWorker(jobs.backend):
            assert (await client.post("/train?wait=30", json={})).json()["status"] == "succeeded"
        text = await scrape(client)
    assert re.search(r'^rnnlab_jobs\{status="succeeded"\} 1\.0$', text, flags=re.MULTILINE)
    assert re.search(r'^rnnlab_jobs\{status="cancelled"\} 1\.0$', text, flags=re.MULTILINE)
    assert jobs_by_status(text) == ALL_ZERO | {"succeeded": 1, "cancelled": 1}
    assert queue_pending(text) == 0
    assert "# TYPE rnnlab_jobs gauge" in text


async def test_a_failing_store_drops_its_series_and_is_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO, logger="rnnlab.metrics")
    async with running(Settings(data_dir=tmp_path)) as (app, client):
        store = app_state(app).jobs.backend.store

        def down() -> dict[str, int]:
            raise StoreUnavailableError("job store jobs.db: disk I/O error")

        monkeypatch.setattr(store, "count_by_status", down)
        texts = [await scrape(client) for _ in range(3)]
        monkeypatch.undo()
        recovered = await scrape(client)
    for text in texts:
        assert jobs_by_status(text) == {}
        assert queue_pending(text) == 0  # the queue still answers
        assert "http_requests_total" in text
    assert jobs_by_status(recovered) == ALL_ZERO
    messages = [r.getMessage() for r in caplog.records if r.name == "rnnlab.metrics"]
    assert len(messages) == 2
    assert "rnnlab_jobs skipped" in messages[0]
    assert "disk I/O error" in messages[0]
    assert "answers again" in messages[1]


async def test_an_unreachable_backend_still_serves_metrics(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, queue_url=f"redis://127.0.0.1:{free_port()}/0")
    async with running(settings) as (_, client):
        await client.get("/health")
        text = await scrape(client)
    assert jobs_by_status(text) == {}
    assert queue_pending(text) is None
    assert 'http_requests_total{handler="/health"' in text
