"""service.launcher: several HTTP processes on one port, supervised, sharing the server's limits."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import pytest
from threadpoolctl import threadpool_limits

from core.threads import current_blas_threads
from service.config import Settings
from service.launcher import process_app
from tests._processes import Server, descendants, pid_alive, running, wait_until

pytestmark = pytest.mark.slow


def http_processes(server: Server) -> set[int]:
    """Pids of the server's HTTP processes (uvicorn's spawned children serving the app)."""
    found = set()
    for pid in descendants(server.pid):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"multiprocessing.spawn" in command and b"resource_tracker" not in command:
            found.add(pid)
    return found


def test_two_http_processes_serve_one_port_and_are_replaced_and_stopped(
    tmp_path: Path,
) -> None:
    server = Server(
        {"RNNLAB_DATA_DIR": str(tmp_path / "data"), "RNNLAB_API_PROCESSES": "2"},
        tmp_path / "server.log",
    )
    with running(server):
        server.wait_up()
        first = wait_until(
            lambda: (found := http_processes(server)) and len(found) == 2 and found, 30
        )
        body = {"weights": {"wx": 1.0, "wrec": 1.0}}
        for _ in range(40):
            assert server.client.post("/loss", json=body).status_code == 200
        # A scrape reaches one process and reports what all of them served.
        metrics = server.client.get("/metrics").text
        served = re.search(
            r'http_requests_total\{handler="/loss",method="POST",status="2xx"\} (\S+)', metrics
        )
        assert served is not None
        assert float(served.group(1)) == 40
        assert "rnnlab_jobs{" in metrics

        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        replaced = wait_until(
            lambda: (now := http_processes(server)) and len(now) == 2 and victim not in now and now,
            60,
        )
        assert server.client.get("/health").status_code == 200
        everything = descendants(server.pid) | replaced
        server.signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
        wait_until(lambda: not any(pid_alive(pid) for pid in everything), 30)


def test_each_process_takes_its_share_of_the_server_wide_limits() -> None:
    settings = Settings(
        max_concurrent_computations=4,
        max_pending_computations=1,
        max_body_memory=1000,
        max_connections=7,
    )
    share = settings.shared_by(2)
    assert (share.max_concurrent_computations, share.max_pending_computations) == (2, 0)
    assert (share.max_body_memory, share.max_connections) == (500, 3)
    assert share.max_samples == settings.max_samples  # a request's own limits are whole
    assert settings.shared_by(1) is settings
    assert Settings().api_processes == len(os.sched_getaffinity(0))


def test_each_http_process_sets_its_blas_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Several processes each with a BLAS pool the size of the machine oversubscribe it;
    # the app factory of every HTTP process applies the setting before serving.
    monkeypatch.setenv("RNNLAB_DATA_DIR", str(tmp_path))
    monkeypatch.setattr("service.launcher.configure_logging", lambda level: None)  # keep pytest's
    with threadpool_limits(limits=None):  # whatever the app sets is undone after the test
        for threads in (1, 2):
            monkeypatch.setenv("RNNLAB_BLAS_THREADS", str(threads))
            process_app()
            assert current_blas_threads() == min(threads, os.cpu_count() or 1)
