"""Fixtures of the service tests: an app with its lifespan running, and clients for it.

``api`` is the app (default settings, a fresh data directory) and its client; ``client``
the client with a worker running queued jobs in a thread of the test process; ``idle``
the client without one (jobs stay queued). Modules that need other settings override
``api``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from service.config import Settings
from service.deps import app_state
from tests.service._api import running
from tests.service._jobs import InlineWorker


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running(Settings(data_dir=tmp_path)) as pair:
        yield pair


@pytest.fixture
def client(api: tuple[FastAPI, httpx.AsyncClient]) -> Iterator[httpx.AsyncClient]:
    app, client = api
    with InlineWorker(app_state(app).jobs.backend):
        yield client


@pytest.fixture
def idle(api: tuple[FastAPI, httpx.AsyncClient]) -> httpx.AsyncClient:
    return api[1]
