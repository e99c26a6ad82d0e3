"""Helpers for the service tests: an in-process client with the lifespan run, a live server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from service.app import create_app
from service.config import Settings
from service.deps import app_state
from tests._net import free_port

PROBLEM = "application/problem+json"
RNNLAB = Path(sys.executable).with_name("rnnlab")


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app built from ``settings``, its lifespan entered, and a client talking to it."""
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield app, client


def computations(app: FastAPI) -> list[str]:
    """Record the name of every function the app's compute limiter runs from now on.

    A request refused "at once" is one that ran nothing: no thread, no core call.
    """
    started: list[str] = []
    limiter = app_state(app).compute
    run = limiter.run

    async def recording(request: Any, func: Any, *args: Any, **kwargs: Any) -> Any:
        started.append(getattr(func, "__name__", repr(func)))
        return await run(request, func, *args, **kwargs)

    limiter.run = recording
    return started


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """Assert ``response`` is an RFC 9457 problem with ``status``; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert isinstance(body["type"], str)
    assert body["type"]
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return body


def strict_json(response: httpx.Response) -> Any:
    """The body parsed with NaN/Infinity tokens refused (they must never appear)."""

    def refuse(token: str) -> None:
        raise AssertionError(f"non-JSON token {token} in response")

    return json.loads(response.text, parse_constant=refuse)


@contextmanager
def live_server(data_dir: Path, **env: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``rnnlab serve`` on a free loopback port; yields (base URL, process); SIGTERM at the end."""
    port = free_port()
    environment = {
        **os.environ,
        "RNNLAB_DATA_DIR": str(data_dir),
        "RNNLAB_EMBEDDED_WORKERS": "0",
        "RNNLAB_API_PROCESSES": "1",  # the limits a test sets are the server's, not shares
        "RNNLAB_LOG_LEVEL": "warning",
        **env,
    }
    proc = subprocess.Popen(
        [str(RNNLAB), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                stderr = proc.stderr.read().decode() if proc.stderr else ""
                raise AssertionError(f"rnnlab serve exited with {proc.returncode}: {stderr}")
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("rnnlab serve did not answer /health within 30 s")
            time.sleep(0.1)
        yield base, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stderr:
            proc.stderr.close()
