"""The fault campaign: real processes, real Redis, real signals, real mounts.

Every test here starts ``rnnlab`` processes of its own (and, where it needs one, its own
``redis-server`` on a free port, with appendonly), breaks something the way operators
see it broken, and checks the service's promises: no job vanishes or is recorded with
anything but its true outcome, no answer carries a secret, nothing stalls the loop.
Bounds are deadlines for polling, never assertions about speed: these tests must pass on
a busy machine. Process logs are printed when a test fails.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core import make_optimizer, train, tutorial_dataset
from tests._needs import missing
from tests._processes import Server, wait_until

# Short failure detection, so that the campaign runs in minutes.
FAST = {
    "RNNLAB_HEARTBEAT_TIMEOUT": "2",
    "RNNLAB_REAPER_INTERVAL": "0.5",
    "RNNLAB_LOG_LEVEL": "info",
}
# About a second of training on the tutorial dataset (none of it recorded).
JOB = {"iterations": 100_000, "record_trajectory": False}


@pytest.fixture(scope="session")
def expected() -> tuple[float, float]:
    """The weights every ``JOB`` ends with (training is deterministic)."""
    result = train(tutorial_dataset(), make_optimizer("rprop"), iterations=JOB["iterations"])
    return result.wx, result.wrec


@pytest.fixture
def logs(tmp_path: Path) -> Iterator[Path]:
    """Process logs, printed at teardown (pytest shows them when the test failed)."""
    directory = tmp_path / "logs"
    directory.mkdir()
    yield directory
    for log in sorted(directory.iterdir()):
        print(f"----- {log.name}\n{log.read_text(errors='replace')[-8000:]}")


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 24 MiB tmpfs mounted for this test (root only; CI runs as root)."""
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        missing(f"cannot mount a tmpfs here (it needs root): {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def job(server: Server, job_id: str) -> dict[str, Any]:
    response = server.client.get(f"/jobs/{job_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def submit(server: Server, body: dict[str, Any]) -> str:
    response = server.client.post("/train", json=body)
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def ended(server: Server, job_ids: list[str], timeout: float) -> dict[str, dict[str, Any]]:
    """Every job once it has ended (polled with a deadline)."""

    def all_ended() -> dict[str, dict[str, Any]] | None:
        jobs = {job_id: job(server, job_id) for job_id in job_ids}
        finished = all(j["status"] in ("succeeded", "failed", "cancelled") for j in jobs.values())
        return jobs if finished else None

    return wait_until(all_ended, timeout, 0.25)


def running(server: Server, job_id: str, timeout: float = 60) -> dict[str, Any]:
    """The job once its worker has reported progress."""
    return wait_until(
        lambda: (
            (j := job(server, job_id))["status"] == "running"
            and j["progress"]["iteration"] > 0
            and j
        ),
        timeout,
    )


def worker_pid(record: dict[str, Any]) -> int:
    return int(str(record["worker"]).rsplit(":", 1)[1])


def json_lines(text: str) -> list[dict[str, Any]]:
    import json

    return [json.loads(line) for line in text.splitlines() if line.strip()]
