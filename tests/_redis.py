"""Redis for the tests: a private ``redis-server`` of their own, never someone else's data.

By default the suite starts one ``redis-server`` on a free loopback port (appendonly, in
a temporary directory) the first time a test needs Redis, and stops it at exit. With
``RNNLAB_TEST_REDIS_URL`` set, that database is used instead, but only if it is empty or
was marked as the tests' own by an earlier run (the key ``rnnlab-tests``): the suite
never flushes a database it did not mark. Without ``redis-server`` (and without the
variable) Redis tests skip, except in CI (``CI=true``) where they fail.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import redis

from tests._needs import missing
from tests._net import free_port

MARKER = "rnnlab-tests"
_server: RedisServer | None = None


class RedisServer:
    """A ``redis-server`` child on 127.0.0.1:``port``, stopped, killed and restarted at will."""

    def __init__(self, *, appendonly: bool = True, port: int | None = None) -> None:
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="rnnlab-redis-"))
        self.appendonly = appendonly
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise FileNotFoundError("redis-server")
        persistence = (
            ["--appendonly", "yes", "--save", ""]
            if self.appendonly
            else ["--appendonly", "no", "--save", ""]
        )
        self.proc = subprocess.Popen(
            [
                binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.dir),
                *persistence,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        while True:
            with contextlib.suppress(redis.RedisError):
                if client.ping():
                    break
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"redis-server on port {self.port} did not start")
            time.sleep(0.05)
        client.close()
        return self

    def stop(self) -> None:
        """SIGTERM (Redis writes its append-only file and exits) and wait."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=20)

    def remove(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def _private_server() -> str:
    global _server
    if _server is None:
        _server = RedisServer().start()
        atexit.register(_server.remove)
    return _server.url


def redis_url() -> str | None:
    """The tests' Redis, started or checked; None when there is none to be had."""
    given = os.environ.get("RNNLAB_TEST_REDIS_URL")
    if not given:
        try:
            return _private_server()
        except (FileNotFoundError, RuntimeError):
            return None
    client = redis.Redis.from_url(given, socket_connect_timeout=1)
    try:
        if client.dbsize() and not client.exists(MARKER):
            raise pytest.UsageError(
                f"RNNLAB_TEST_REDIS_URL={given} holds data the tests did not write; "
                "point it at an empty database (the tests flush it)"
            )
    except redis.RedisError:
        return None
    finally:
        client.close()
    return given


def redis_or_skip() -> str:
    """A flushed Redis database for one test; skip without Redis (fail when CI=true)."""
    url = redis_url()
    if url is None:
        missing("no Redis for the tests: install redis-server or set RNNLAB_TEST_REDIS_URL")
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.set(MARKER, "this database belongs to rnnlab's test suite")
    client.close()
    return url
