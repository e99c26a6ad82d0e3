"""/health and /ready."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.config import Settings
from service.errors import BackendUnavailable
from tests.service._api import problem, running

pytestmark = pytest.mark.anyio


async def test_health(tmp_path: Path) -> None:
    async with running(Settings(data_dir=tmp_path)) as (_, client):
        response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_when_the_backend_answers(tmp_path: Path) -> None:
    async with running(Settings(data_dir=tmp_path)) as (app, client):
        calls = 0

        async def check() -> None:
            nonlocal calls
            calls += 1

        app.state.ready_check = check
        response = await client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}
    assert calls == 1


async def test_not_ready_is_a_503_problem(tmp_path: Path) -> None:
    async with running(Settings(data_dir=tmp_path)) as (app, client):

        async def check() -> None:
            raise BackendUnavailable("the job queue does not answer")

        app.state.ready_check = check
        body = problem(await client.get("/ready"), 503)
        assert body["detail"] == "the job queue does not answer"
        assert (await client.get("/health")).status_code == 200  # liveness is unaffected


async def test_not_ready_when_the_data_dir_is_unusable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    async with running(Settings(data_dir=tmp_path)) as (app, client):
        app.state.datasets._dir = blocker / "datasets"  # the store now points below a file
        problem(await client.get("/ready"), 503)
