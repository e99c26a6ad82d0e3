"""Fixtures of the client tests: a live ``rnnlab serve`` for the whole session, and clients.

The client is tested the way it is used, over TCP against the real server (its embedded
queue and workers included), so every answer it reads is the service's own. A second
server with a token is started only by the tests that need one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from rnnlab_client import AsyncClient, Client
from tests._processes import Server

TOKEN = "client-test-token"


def _serve(directory: Path, **env: str) -> Server:
    server = Server(
        {"RNNLAB_DATA_DIR": str(directory / "data"), "RNNLAB_LOG_LEVEL": "warning", **env},
        directory / "server.log",
    )
    try:
        server.wait_up(timeout=60)
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``rnnlab serve`` with its job workers, on a free port, with a fresh data directory."""
    server = _serve(tmp_path_factory.mktemp("client-server"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server that wants ``Authorization: Bearer TOKEN`` (no workers: no job runs)."""
    server = _serve(
        tmp_path_factory.mktemp("client-token-server"),
        RNNLAB_API_TOKEN=TOKEN,
        RNNLAB_EMBEDDED_WORKERS="0",
    )
    yield server
    server.stop()


@pytest.fixture
def url(server: Server, monkeypatch: pytest.MonkeyPatch) -> str:
    """The session server's URL; the environment's client settings cleared."""
    for name in ("RNNLAB_URL", "RNNLAB_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return server.url


@pytest.fixture
def client(url: str) -> Iterator[Client]:
    with Client(url) as client:
        yield client


@pytest.fixture
async def aclient(url: str) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(url) as client:
        yield client
