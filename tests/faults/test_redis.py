"""The distributed setup on a Redis of the test's own: lost workers, outages, forgetful Redis."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._needs import missing
from tests._processes import Process, Server, descendants, pid_alive, running, wait_until
from tests._redis import RedisServer
from tests.faults.conftest import FAST, JOB, ended, submit, worker_pid
from tests.faults.conftest import running as job_running

pytestmark = [pytest.mark.slow, pytest.mark.redis]


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A ``redis-server`` with appendonly on a free port, for this test alone."""
    try:
        server = RedisServer(appendonly=True).start()
    except FileNotFoundError:
        missing("redis-server is not installed: apt-get install redis-server")
    try:
        yield server
    finally:
        server.remove()


def test_one_of_two_workers_killed_its_job_finishes_on_the_other(
    tmp_path: Path, logs: Path, redis_server: RedisServer, expected: tuple[float, float]
) -> None:
    env = {"RNNLAB_DATA_DIR": str(tmp_path / "data"), "RNNLAB_QUEUE_URL": redis_server.url}
    env |= FAST
    api_env = env | {"RNNLAB_EMBEDDED_WORKERS": "0", "RNNLAB_MAX_QUEUED_JOBS": "3"}
    api1, api2 = Server(api_env, logs / "api-1.log"), Server(api_env, logs / "api-2.log")
    with running(api1, api2):
        api1.wait_up()
        api2.wait_up()
        # No worker yet: jobs wait; past max_queued_jobs the API answers 429 at once.
        waiting = [submit(api1, JOB), submit(api2, JOB), submit(api1, JOB)]
        full = api2.client.post("/train", json=JOB)
        assert full.status_code == 429
        assert int(full.headers["retry-after"]) > 0
        workers = [
            Process(["worker", "--workers", "1"], env, logs / f"worker-{i}.log") for i in (1, 2)
        ]
        with running(*workers):
            assert all(j["status"] == "succeeded" for j in ended(api2, waiting, 120).values())
            victim = submit(api1, {"iterations": 1_000_000, "record_trajectory": False})
            lost = worker_pid(job_running(api1, victim))
            killed = next(w for w in workers if lost in descendants(w.pid) | {w.pid})
            family = descendants(killed.pid)
            os.killpg(killed.pid, signal.SIGKILL)  # a whole `rnnlab worker` command
            wait_until(lambda: not any(pid_alive(pid) for pid in family), 30)
            record = ended(api2, [victim], timeout=300)[victim]
    assert record["status"] == "succeeded", record
    assert worker_pid(record) != lost


def test_a_redis_outage_delays_outcomes_but_never_rewrites_them(
    tmp_path: Path, logs: Path, redis_server: RedisServer, expected: tuple[float, float]
) -> None:
    env = {
        "RNNLAB_DATA_DIR": str(tmp_path / "data"),
        "RNNLAB_QUEUE_URL": redis_server.url,
        "RNNLAB_EMBEDDED_WORKERS": "2",
    } | FAST
    server = Server(env, logs / "serve.log")
    with running(server):
        server.wait_up()
        ids = [
            submit(server, {"iterations": 300_000, "record_trajectory": False}) for _ in range(6)
        ]
        job_running(server, ids[0])
        redis_server.stop()  # 15 s without Redis: 7 heartbeat timeouts
        outage = threading.Event()
        threading.Timer(15, outage.set).start()
        ready = wait_until(lambda: (r := server.client.get("/ready")).status_code == 503 and r, 30)
        assert "job_store" in ready.json()["components"]
        train = server.client.post("/train", json=JOB)
        assert train.status_code == 503
        assert int(train.headers["retry-after"]) > 0
        assert server.client.get("/health").status_code == 200
        outage.wait(30)
        redis_server.start()
        wait_until(lambda: server.client.get("/ready").status_code == 200, 60, 0.25)
        jobs = ended(server, ids, timeout=300)
    for record in jobs.values():
        assert record["status"] == "succeeded", record  # none recorded as lost


def test_a_redis_that_forgets_is_said_loudly(tmp_path: Path, logs: Path) -> None:
    try:
        forgetful = RedisServer(appendonly=False).start()
    except FileNotFoundError:
        missing("redis-server is not installed: apt-get install redis-server")
    env = {
        "RNNLAB_DATA_DIR": str(tmp_path / "data"),
        "RNNLAB_QUEUE_URL": forgetful.url,
        "RNNLAB_EMBEDDED_WORKERS": "0",
    } | FAST
    server = Server(env, logs / "serve.log")
    try:
        with running(server):
            server.wait_up()
            ready = server.client.get("/ready").json()
            assert any("persists nothing" in warning for warning in ready["warnings"])
            assert "rnnlab_job_store_persistent 0.0" in server.client.get("/metrics").text
            before = submit(server, JOB)
            forgetful.kill()
            forgetful.start()  # everything it held is gone
            emptied = wait_until(
                lambda: any("emptied" in w for w in server.client.get("/ready").json()["warnings"]),
                60,
                0.25,
            )
            assert emptied
            assert "rnnlab_job_store_resets_total 1.0" in server.client.get("/metrics").text
            assert server.client.get(f"/jobs/{before}").status_code == 404
            assert "emptied" in server.output()
    finally:
        forgetful.remove()


def test_the_queue_password_leaves_no_trace(tmp_path: Path, logs: Path) -> None:
    from tests._net import free_port

    url = f"redis://default:hunter2@127.0.0.1:{free_port()}/0"  # nothing listens there
    env = {
        "RNNLAB_DATA_DIR": str(tmp_path / "data"),
        "RNNLAB_QUEUE_URL": url,
        "RNNLAB_EMBEDDED_WORKERS": "2",
    } | FAST
    server = Server(env, logs / "serve.log")
    with running(server):
        server.wait_up()
        answers = [
            server.client.get("/ready"),
            server.client.post("/train", json={}),
            server.client.get("/jobs"),
            server.client.get("/jobs/01M8N5EGYCBYAJX83TTQ2K8NT2"),
            server.client.get("/metrics"),
            server.client.post(
                "/train", content=b"{not json", headers={"content-type": "application/json"}
            ),
        ]
        wait_until(lambda: "unavailable" in server.output(), 30)  # the workers said so
    assert [a.status_code for a in answers[:2]] == [503, 503]
    for answer in answers:
        assert "hunter2" not in answer.text
        assert "hunter2" not in str(answer.headers)
    output = server.output()
    assert "hunter2" not in output
    assert output.count("unavailable (") <= 4  # said once per worker process, not in a loop
