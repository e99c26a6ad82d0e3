"""Broken storage under a real server: a full disk, corrupt files, a read-only data directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from tests._processes import Server, running, wait_until
from tests.faults.conftest import FAST, JOB, ended, job, submit
from tests.faults.conftest import running as job_running

pytestmark = pytest.mark.slow

LOSS = {"weights": {"wx": 2, "wrec": 1}}


def fill(mount: Path, leave: int = 0) -> None:
    """Write a ballast file that leaves ``leave`` bytes free on ``mount``."""
    stat = os.statvfs(mount)
    size = max(0, stat.f_bavail * stat.f_frsize - leave)
    with (mount / "ballast").open("wb") as ballast:
        for _ in range(size >> 20):
            ballast.write(b"\0" * (1 << 20))
        ballast.write(b"\0" * (size % (1 << 20)))


def big_upload(rows: int) -> dict[str, object]:
    """Real-valued sequences (stored as float64: 8 bytes a step) of 100 steps."""
    rng = np.random.default_rng(rows)
    return {"sequences": rng.random((rows, 100)).round(3).tolist()}


def test_a_full_disk_stores_nothing_half_and_says_507(
    tmpfs: Path, logs: Path, expected: tuple[float, float]
) -> None:
    env = {"RNNLAB_DATA_DIR": str(tmpfs), "RNNLAB_EMBEDDED_WORKERS": "1"} | FAST
    server = Server(env, logs / "serve.log")
    with running(server):
        server.wait_up()
        trained = server.client.post("/train", params={"wait": 60}, json=JOB).json()
        assert trained["status"] == "succeeded"
        fill(tmpfs)
        stored = server.client.post("/datasets", json=big_upload(20_000))  # ~16 MB of npz
        assert stored.status_code == 507, stored.text
        assert str(tmpfs) not in stored.text
        assert list(tmpfs.rglob("*.tmp")) == []
        assert server.client.get("/datasets").json()["items"] == []
        assert server.client.post("/loss", json=LOSS).status_code == 200  # still computing
        # Space comes back: writes work again, and nothing was lost meanwhile.
        (tmpfs / "ballast").unlink()
        again = server.client.post("/datasets", json=big_upload(2_000))
        assert again.status_code == 201, again.text
        assert server.client.get(f"/jobs/{trained['id']}").json() == trained


def test_a_job_that_ends_on_a_full_disk_keeps_its_outcome(
    tmpfs: Path, logs: Path, expected: tuple[float, float]
) -> None:
    env = {"RNNLAB_DATA_DIR": str(tmpfs), "RNNLAB_EMBEDDED_WORKERS": "1"} | FAST
    server = Server(env, logs / "serve.log")
    with running(server):
        server.wait_up()
        # 2,000,000 iterations record 48 MB of trajectory: more than the disk can take.
        big = submit(server, {"iterations": 2_000_000})
        job_running(server, big)
        fill(tmpfs)
        wait_until(lambda: "cannot record its end yet" in server.output(), 300)
        for _ in range(20):  # meanwhile nothing rewrites its outcome
            assert job(server, big)["status"] == "running"
            time.sleep(0.25)
        (tmpfs / "ballast").unlink()
        record = ended(server, [big], timeout=300)[big]
        assert record["status"] == "succeeded", record
        assert record["result"]["iterations"] == 2_000_000
        trajectory = server.client.get(f"/jobs/{big}/trajectory", params={"format": "npy"})
        if trajectory.status_code == 404:  # the disk stayed full longer than the worker waited
            assert "full" in trajectory.json()["detail"]
        else:
            assert trajectory.status_code == 200


@pytest.mark.parametrize(
    ("broken", "component"), [("queue.db", "job_queue"), ("jobs.db", "job_store")]
)
def test_a_corrupt_file_breaks_one_component_and_says_what_to_do(
    tmp_path: Path, logs: Path, broken: str, component: str, expected: tuple[float, float]
) -> None:
    data = tmp_path / "data"
    env = {"RNNLAB_DATA_DIR": str(data), "RNNLAB_EMBEDDED_WORKERS": "0"} | FAST
    first = Server(env, logs / "serve-1.log")
    with running(first):
        first.wait_up()
        waiting = [submit(first, JOB) for _ in range(3)]  # no workers: they stay queued
    (data / broken).write_bytes(b"\x00garbage, not SQLite\x00" * 1000)
    (data / f"{broken}-wal").unlink(missing_ok=True)
    (data / f"{broken}-shm").unlink(missing_ok=True)

    second = Server(env | {"RNNLAB_EMBEDDED_WORKERS": "2"}, logs / "serve-2.log")
    with running(second):
        second.wait_up()
        assert second.client.post("/loss", json=LOSS).status_code == 200
        ready = second.client.get("/ready")
        assert ready.status_code == 503
        assert "not a database" in ready.json()["components"][component]
        assert str(data) not in ready.text
        assert second.client.post("/train", json=JOB).status_code == 503
        wait_until(lambda: "move it aside" in second.output(), 30)

    if broken == "queue.db":  # moving the queue aside loses nothing: the jobs come back
        shutil.move(data / broken, tmp_path / "queue.db.corrupt")
        third = Server(env | {"RNNLAB_EMBEDDED_WORKERS": "2"}, logs / "serve-3.log")
        with running(third):
            third.wait_up()
            assert third.client.get("/ready").status_code == 200
            for record in ended(third, waiting, timeout=300).values():
                assert record["status"] == "succeeded", record


def test_a_read_only_data_dir_leaves_the_service_serving(tmpfs: Path, logs: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    env = {"RNNLAB_DATA_DIR": str(tmpfs / "data"), "RNNLAB_EMBEDDED_WORKERS": "1"} | FAST
    server = Server(env, logs / "serve.log")
    with running(server):
        server.wait_up()
        assert server.client.post("/loss", json=LOSS).status_code == 200
        assert server.client.get("/loss-surface", params={"resolution": 64}).status_code == 200
        ready = server.client.get("/ready")
        assert ready.status_code == 503
        assert set(ready.json()["components"]) == {"datasets", "job_queue", "job_store"}
        assert str(tmpfs) not in ready.text
        stored = server.client.post("/datasets", json={"sequences": [[0.5, 1.0]]})
        assert stored.status_code == 503
        assert str(tmpfs) not in stored.text
        assert server.client.post("/train", json=JOB).status_code == 503
        assert "writable" in server.output()
