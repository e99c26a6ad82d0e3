"""Killing and stopping ``rnnlab serve``: no job vanishes, every job ends with its true outcome."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import httpx
import pytest

from tests._processes import Server, descendants, pid_alive, running, wait_until
from tests.faults.conftest import FAST, JOB, ended, job, submit, worker_pid
from tests.faults.conftest import running as job_running

pytestmark = pytest.mark.slow


def metrics(server: Server) -> str:
    return server.client.get("/metrics").text


def test_sigkill_of_the_whole_serve_group_loses_no_job(
    tmp_path: Path, logs: Path, expected: tuple[float, float]
) -> None:
    env = {"RNNLAB_DATA_DIR": str(tmp_path / "data"), "RNNLAB_EMBEDDED_WORKERS": "2"} | FAST
    first = Server(env, logs / "serve-1.log")
    with running(first):
        first.wait_up()
        ids = [submit(first, JOB) for _ in range(20)]
        job_running(first, ids[0])
        family = descendants(first.pid)
        os.killpg(first.pid, signal.SIGKILL)  # API, launcher, consumer and workers at once
        wait_until(lambda: not any(pid_alive(pid) for pid in family), 30)

    second = Server(env, logs / "serve-2.log")
    with running(second):
        second.wait_up()
        jobs = ended(second, ids, timeout=300)
        listed = second.client.get("/jobs", params={"limit": 100}).json()["items"]
    assert {j["id"] for j in listed} == set(ids)  # none vanished
    for record in jobs.values():
        assert record["status"] == "succeeded", record  # the true outcome, not worker-lost
        weights = record["result"]["weights"]
        assert (weights["wx"], weights["wrec"]) == expected


def test_sigterm_puts_running_jobs_back_and_they_finish_after_restart(
    tmp_path: Path, logs: Path, expected: tuple[float, float]
) -> None:
    env = {"RNNLAB_DATA_DIR": str(tmp_path / "data"), "RNNLAB_EMBEDDED_WORKERS": "2"} | FAST
    long_job = {"iterations": 3_000_000, "record_trajectory": False}
    first = Server(env, logs / "serve-1.log")
    with running(first):
        first.wait_up()
        interrupted = submit(first, long_job)
        job_running(first, interrupted)
        family = descendants(first.pid)
        first.signal(signal.SIGTERM)
        assert first.wait(timeout=60) == 0
        wait_until(lambda: not any(pid_alive(pid) for pid in family), 30)

    second = Server(env, logs / "serve-2.log")
    with running(second):
        second.wait_up()
        assert job(second, interrupted)["status"] in ("queued", "running")
        record = ended(second, [interrupted], timeout=600)[interrupted]
    assert record["status"] == "succeeded"
    assert record["result"]["iterations"] == 3_000_000


def test_a_sigkilled_worker_s_job_runs_again_and_succeeds(
    tmp_path: Path, logs: Path, expected: tuple[float, float]
) -> None:
    env = {"RNNLAB_DATA_DIR": str(tmp_path / "data"), "RNNLAB_EMBEDDED_WORKERS": "2"} | FAST
    server = Server(env, logs / "serve.log")
    with running(server):
        server.wait_up()
        victim = submit(server, {"iterations": 1_000_000, "record_trajectory": False})
        first_worker = worker_pid(job_running(server, victim))
        os.kill(first_worker, signal.SIGKILL)
        record = ended(server, [victim], timeout=300)[victim]
        # The consumer replaced the dead worker process: new jobs still run.
        after = server.client.post("/train", params={"wait": 60}, json=JOB).json()
    assert record["status"] == "succeeded", record
    assert worker_pid(record) != first_worker
    assert after["status"] == "succeeded"
    assert (after["result"]["weights"]["wx"], after["result"]["weights"]["wrec"]) == expected


def test_the_launcher_s_children_do_not_outlive_it(tmp_path: Path, logs: Path) -> None:
    env = {"RNNLAB_DATA_DIR": str(tmp_path / "data"), "RNNLAB_EMBEDDED_WORKERS": "2"} | FAST
    server = Server(env, logs / "serve.log")
    with running(server):
        server.wait_up()
        job_running(server, submit(server, {"iterations": 2_000_000, "record_trajectory": False}))
        family = descendants(server.pid)
        assert len(family) >= 3  # consumer, its scheduler and workers
        os.kill(server.pid, signal.SIGKILL)  # the launcher alone
        wait_until(lambda: not any(pid_alive(pid) for pid in family), 30)


def test_sigterm_ends_the_server_while_a_long_computation_runs(tmp_path: Path, logs: Path) -> None:
    env = {
        "RNNLAB_DATA_DIR": str(tmp_path / "data"),
        "RNNLAB_EMBEDDED_WORKERS": "0",
        "RNNLAB_MAX_COMPUTE_SECONDS": "3600",
    }
    # Past the fast path: a forward pass per grid point, minutes of work.
    params = {"n_samples": 200, "length": 5000, "resolution": 512, "format": "npy"}
    server = Server(env, logs / "serve.log")
    with running(server):
        server.wait_up()
        outcome: list[object] = []

        def ask() -> None:
            try:
                outcome.append(httpx.get(f"{server.url}/loss-surface", params=params, timeout=600))
            except httpx.HTTPError as exc:
                outcome.append(exc)

        asker = threading.Thread(target=ask, daemon=True)
        asker.start()
        wait_until(lambda: "rnnlab_computations_running 1.0" in metrics(server), 60)
        server.signal(signal.SIGTERM)
        # Minutes of computation were left: the process ends well before they would be.
        assert server.wait(timeout=60) == 0
        asker.join(timeout=60)
    assert outcome, "the surface request never returned"
