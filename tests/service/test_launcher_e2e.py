"""End to end against real processes: ``rnnlab serve`` (embedded) and API + ``rnnlab worker``
on Redis (distributed), including SIGKILLs, restarts, a full queue and a backend outage.

Bounds asserted here (with the short test settings below):
- a job whose worker is SIGKILLed ends ``failed`` within heartbeat_timeout + reaper_interval
  (+ slack for slow machines);
- DELETE of a running job: ``cancelled`` within 1 s;
- stopping ``serve`` (SIGTERM) or killing it (SIGKILL) leaves no process behind, and no
  job record is lost: interrupted jobs are queued again and rerun after a restart.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests._net import free_port
from tests._redis import redis_or_skip
from tests.service._jobs import (
    Process,
    Server,
    descendants,
    pid_alive,
    running,
    wait_until,
)

pytestmark = pytest.mark.slow

HEARTBEAT_TIMEOUT = 2.0
REAPER_INTERVAL = 0.5
REAP_BOUND = HEARTBEAT_TIMEOUT + REAPER_INTERVAL + 2.0  # + slack for a loaded machine
FAST_FAILURE = {
    "RNNLAB_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT),
    "RNNLAB_REAPER_INTERVAL": str(REAPER_INTERVAL),
    "RNNLAB_LOG_LEVEL": "info",
}
LONG_JOB = {"iterations": 5_000_000, "record_trajectory": False}


def job_of(server: Server, job_id: str) -> dict[str, Any]:
    response = server.client.get(f"/jobs/{job_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def submit(server: Server, body: dict[str, Any]) -> str:
    response = server.client.post("/train", json=body)
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def running_job(server: Server, job_id: str, timeout: float = 20) -> dict[str, Any]:
    """The job once its worker has reported progress."""
    result: dict[str, Any] = wait_until(
        lambda: (
            (job := job_of(server, job_id))["progress"]["iteration"] > 0
            and job["status"] == "running"
            and job
        ),
        timeout,
    )
    return result


def worker_pid(job: dict[str, Any]) -> int:
    return int(str(job["worker"]).rsplit(":", 1)[1])


def sse_events(lines: Iterator[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event name, JSON data) of each server-sent event."""
    name = "message"
    for line in lines:
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            yield name, json.loads(line.removeprefix("data: "))


def assert_tutorial_result(job: dict[str, Any]) -> None:
    assert job["status"] == "succeeded", job
    weights = job["result"]["weights"]
    assert (round(weights["wx"], 4), round(weights["wrec"], 4)) == (1.0014, 0.9997)


@pytest.fixture
def logs(tmp_path: Path) -> Iterator[Path]:
    """Process logs, printed at teardown (pytest shows them when the test failed)."""
    directory = tmp_path / "logs"
    directory.mkdir()
    yield directory
    for log in sorted(directory.iterdir()):
        print(f"----- {log.name}\n{log.read_text(errors='replace')[-6000:]}")


def test_serve_embedded_train_follow_cancel_kill_restart(tmp_path: Path, logs: Path) -> None:
    env = {"RNNLAB_DATA_DIR": str(tmp_path / "data"), "RNNLAB_EMBEDDED_WORKERS": "2"}
    env |= FAST_FAILURE
    server = Server(env, logs / "serve-1.log")
    with running(server):
        server.wait_up()
        wait_until(lambda: server.client.get("/ready").status_code == 200, 10)

        # The default job, waited for.
        started = time.monotonic()
        response = server.client.post("/train", params={"wait": 30}, json={})
        latency = time.monotonic() - started
        assert response.status_code == 200, response.text
        tutorial = response.json()
        assert_tutorial_result(tutorial)
        assert latency < 5
        print(f"POST /train?wait=30 answered the finished job in {latency * 1000:.0f} ms")

        # Follow a long job's events, cancel it mid-stream.
        long_id = submit(server, LONG_JOB)
        events: list[tuple[str, dict[str, Any]]] = []
        with (
            httpx.Client(base_url=server.url, timeout=30) as stream_client,
            stream_client.stream("GET", f"/jobs/{long_id}/events") as stream,
        ):
            assert stream.status_code == 200
            parsed = sse_events(stream.iter_lines())
            for name, data in parsed:
                events.append((name, data))
                if name == "progress" and data["progress"]["iteration"] > 0:
                    break
            asked = time.monotonic()
            cancel = server.client.delete(f"/jobs/{long_id}")
            cancel_latency = time.monotonic() - asked
            events.extend(parsed)
        assert cancel.status_code == 200, cancel.text
        assert cancel.json()["status"] == "cancelled"
        assert cancel_latency < 1.0
        print(f"DELETE of a running job: cancelled after {cancel_latency * 1000:.0f} ms")
        assert [n for n, _ in events].count("done") == 1
        assert events[-1][0] == "done"
        assert events[-1][1]["status"] == "cancelled"

        # SIGKILL the worker process in the middle of a job: the reaper fails the job.
        victim_id = submit(server, LONG_JOB)
        victim = running_job(server, victim_id)
        os.kill(worker_pid(victim), signal.SIGKILL)
        killed = time.monotonic()
        failed = wait_until(
            lambda: (job := job_of(server, victim_id))["status"] != "running" and job,
            REAP_BOUND + 5,
        )
        reaped_after = time.monotonic() - killed
        assert failed["status"] == "failed"
        assert failed["error"]["type"] == "urn:rnnlab:problem:worker-lost"
        assert reaped_after < REAP_BOUND
        print(f"worker SIGKILLed mid-job: job failed after {reaped_after:.1f} s")
        # The consumer replaced the dead worker: jobs still run.
        again = server.client.post("/train", params={"wait": 30}, json={})
        assert_tutorial_result(again.json())

        # SIGTERM with a job running: everything stops, the job goes back to the queue.
        interrupted_id = submit(server, LONG_JOB)
        running_job(server, interrupted_id)
        family = descendants(server.pid)
        assert len(family) >= 3  # consumer, its scheduler and workers
        server.signal(signal.SIGTERM)
        assert server.wait(timeout=20) == 0
        wait_until(lambda: not any(pid_alive(pid) for pid in family), 10)

    # Restart on the same data: every record is there; the interrupted job runs again.
    server = Server(env, logs / "serve-2.log")
    with running(server):
        server.wait_up()
        assert job_of(server, tutorial["id"]) == tutorial
        assert job_of(server, long_id)["status"] == "cancelled"
        assert job_of(server, victim_id)["status"] == "failed"
        rerun = running_job(server, interrupted_id)
        assert rerun["started_at"] > tutorial["finished_at"]

        # SIGKILL the launcher itself: its consumer and workers do not outlive it.
        family = descendants(server.pid)
        os.kill(server.pid, signal.SIGKILL)
        wait_until(lambda: not any(pid_alive(pid) for pid in family), 10)

    server = Server(env, logs / "serve-3.log")
    with running(server):
        server.wait_up()
        running_job(server, interrupted_id)  # requeued by the orphaned worker, run again
        assert server.client.delete(f"/jobs/{interrupted_id}").json()["status"] == "cancelled"
        listed = server.client.get("/jobs", params={"limit": 100}).json()["items"]
        assert {tutorial["id"], long_id, victim_id, interrupted_id} <= {j["id"] for j in listed}


@pytest.mark.redis
def test_distributed_api_replicas_and_workers_on_redis(tmp_path: Path, logs: Path) -> None:
    url = redis_or_skip()
    env = {"RNNLAB_DATA_DIR": str(tmp_path / "data"), "RNNLAB_QUEUE_URL": url} | FAST_FAILURE
    api_env = env | {"RNNLAB_EMBEDDED_WORKERS": "0", "RNNLAB_MAX_QUEUED_JOBS": "2"}
    api1 = Server(api_env, logs / "api-1.log")
    api2 = Server(api_env, logs / "api-2.log")
    workers: list[Process] = []
    try:
        with running(api1, api2):
            api1.wait_up()
            api2.wait_up()
            assert api1.client.get("/ready").status_code == 200

            # No worker yet: jobs wait; past max_queued_jobs the API answers 429.
            queued = [submit(api1, {}), submit(api2, {"iterations": 100})]
            full = api1.client.post("/train", json={})
            assert full.status_code == 429
            assert int(full.headers["retry-after"]) > 0

            # A worker drains the queue; either replica answers for any job.
            worker = Process(["worker", "--workers", "1"], env, logs / "worker-1.log")
            workers.append(worker)
            done = wait_until(
                lambda: all(job_of(api2, j)["status"] == "succeeded" for j in queued), 30
            )
            assert done
            assert_tutorial_result(job_of(api2, queued[0]))
            waited = api2.client.post("/train", params={"wait": 30}, json={})
            assert waited.status_code == 200
            assert job_of(api1, waited.json()["id"]) == waited.json()

            # SIGKILL the process running a job: a reaper (in the APIs) fails it.
            victim_id = submit(api1, LONG_JOB)
            victim = running_job(api1, victim_id)
            os.kill(worker_pid(victim), signal.SIGKILL)
            killed = time.monotonic()
            failed = wait_until(
                lambda: (job := job_of(api2, victim_id))["status"] != "running" and job,
                REAP_BOUND + 5,
            )
            assert failed["status"] == "failed"
            assert failed["error"]["type"] == "urn:rnnlab:problem:worker-lost"
            assert time.monotonic() - killed < REAP_BOUND

            # SIGKILL the whole worker command: its job is queued again, a new worker runs it.
            moved_id = submit(api1, LONG_JOB)
            running_job(api1, moved_id)
            family = descendants(worker.pid)
            os.kill(worker.pid, signal.SIGKILL)
            wait_until(lambda: not any(pid_alive(pid) for pid in family), 10)
            assert job_of(api1, moved_id)["status"] == "queued"
            workers.append(Process(["worker"], env, logs / "worker-2.log"))
            rerun = running_job(api2, moved_id)
            assert rerun["worker"] != job_of(api1, victim_id)["worker"]
            assert api1.client.delete(f"/jobs/{moved_id}").json()["status"] == "cancelled"
    finally:
        for process in workers:
            process.stop()


def test_backend_down_is_503_and_recovers(tmp_path: Path, logs: Path) -> None:
    port = free_port()
    env = {
        "RNNLAB_DATA_DIR": str(tmp_path / "data"),
        "RNNLAB_QUEUE_URL": f"redis://127.0.0.1:{port}/0",
        "RNNLAB_EMBEDDED_WORKERS": "0",
    }
    server = Server(env, logs / "serve.log")
    with running(server):
        server.wait_up()
        ready = server.client.get("/ready")
        assert ready.status_code == 503
        assert ready.headers["content-type"] == "application/problem+json"
        train = server.client.post("/train", json={})
        assert train.status_code == 503
        assert train.json()["type"] == "urn:rnnlab:problem:backend-unavailable"
        assert server.client.get("/health").status_code == 200

        redis_server = shutil.which("redis-server")
        if redis_server is None:
            return  # recovery needs a Redis to start; the outage half is checked
        redis_proc = subprocess.Popen(
            [redis_server, "--port", str(port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        try:
            wait_until(lambda: server.client.get("/ready").status_code == 200, 15, 0.2)
            assert server.client.post("/train", json={}).status_code == 202
        finally:
            redis_proc.terminate()
            redis_proc.wait(timeout=10)
