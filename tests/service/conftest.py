"""Fixtures of the service tests: an app with its lifespan running, and a client for it.

``api`` is the app (default settings, a fresh data directory) and its client; ``client``
the client alone. Modules that need other settings or a worker override them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from service.config import Settings
from tests.service._api import running


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running(Settings(data_dir=tmp_path)) as pair:
        yield pair


@pytest.fixture
def client(api: tuple[FastAPI, httpx.AsyncClient]) -> httpx.AsyncClient:
    return api[1]
