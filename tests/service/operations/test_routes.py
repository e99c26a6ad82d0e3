"""/health and /ready: liveness is the process; readiness names every broken component."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from service.config import Settings
from tests.service._api import problem, running

pytestmark = pytest.mark.anyio

LOSS = {"weights": {"wx": 2, "wrec": 1}}


async def test_health(tmp_path: Path) -> None:
    async with running(Settings(data_dir=tmp_path)) as (_, client):
        response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_names_every_component(tmp_path: Path) -> None:
    async with running(Settings(data_dir=tmp_path)) as (_, client):
        response = await client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "components": {"datasets": "ok", "job_queue": "ok", "job_store": "ok"},
        "warnings": [],
    }


@pytest.mark.parametrize(
    ("broken", "component"), [("queue.db", "job_queue"), ("jobs.db", "job_store")]
)
async def test_a_corrupt_file_is_one_broken_component_not_a_dead_service(
    tmp_path: Path, broken: str, component: str
) -> None:
    (tmp_path / broken).write_bytes(b"this is not an SQLite database file " * 100)
    async with running(Settings(data_dir=tmp_path)) as (_, client):
        assert (await client.get("/health")).status_code == 200
        assert (await client.post("/loss", json=LOSS)).json()["loss"] == pytest.approx(28.35)
        ready = problem(await client.get("/ready"), 503)
        assert ready["components"][component] != "ok"
        assert "not a database" in ready["components"][component]
        assert str(tmp_path) not in ready["detail"]
        train = problem(await client.post("/train", json={}), 503)
        assert str(tmp_path) not in train["detail"]


async def test_an_unusable_data_dir_leaves_the_stateless_endpoints_serving(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the data directory should be")
    async with running(Settings(data_dir=blocker / "data")) as (_, client):
        assert (await client.post("/loss", json=LOSS)).status_code == 200
        ready = problem(await client.get("/ready"), 503)
        assert set(ready["components"]) == {"datasets", "job_queue", "job_store"}
        assert all(state != "ok" for state in ready["components"].values())
        assert str(tmp_path) not in ready["detail"]
        stored = problem(await client.post("/datasets", json={"sequences": [[0.5, 1]]}), 503)
        assert str(tmp_path) not in stored["detail"]


async def test_a_queue_password_never_appears_in_an_answer(tmp_path: Path) -> None:
    url = "redis://default:hunter2@127.0.0.1:1/0"  # nothing listens on port 1
    async with running(Settings(data_dir=tmp_path, queue_url=url)) as (_, client):
        ready = await client.get("/ready")
        train = await client.post("/train", json={})
        jobs = await client.get("/jobs")
        metrics = await client.get("/metrics")
    problem(ready, 503)
    problem(train, 503)
    for response in (ready, train, jobs, metrics):
        assert "hunter2" not in response.text


async def test_a_full_disk_is_a_507_and_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", full)
    async with running(Settings(data_dir=tmp_path)) as (_, client):
        response = await client.post("/datasets", json={"sequences": [[0.5, 1], [2]]})
        listing = await client.get("/datasets")
    body = problem(response, 507)
    assert str(tmp_path) not in body["detail"]
    assert listing.json()["items"] == []
    assert list(tmp_path.rglob("*.tmp")) == []
    assert list(tmp_path.rglob("*.npz")) == []
