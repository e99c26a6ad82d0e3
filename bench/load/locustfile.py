"""The traffic of ``python -m bench.load``: a weighted mix of rnnlab's everyday requests.

Each simulated client, between short pauses, asks for losses and gradients at random
weights (on the tutorial dataset and on a stored generated one), loss surfaces at 128²
and 512² (JSON and npy), predictions, a small training run that it waits for
(``?wait=``), or an asynchronous run that it polls until it ends. Requests are named by
endpoint and variant (``/jobs/[id]``), so the statistics group that way.

A 429 is the service shedding load as designed: it is marked a success for locust and
counted apart by the driver, and the client waits as long as its ``Retry-After`` says
(at most ``MAX_RETRY_AFTER``), as a well-behaved client would. A 429 without
``Retry-After``, any other unexpected status (a 5xx above all) or a connection error is
a failure.

Every request is also recorded (name, status, latency, time) and written as JSON to the
file named by ``RNNLAB_LOAD_RECORD`` when locust quits: the driver computes its own
percentiles from it, leaving the 429s out, which locust's statistics cannot do.

Standalone: ``locust -f bench/load/locustfile.py --headless -u 16 -r 16 -t 30s
--host http://127.0.0.1:8000`` (only loopback hosts are accepted).
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
import time
import urllib.request
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import gevent
from locust import FastHttpUser, between, events, task
from locust.env import Environment

RECORD_ENV = "RNNLAB_LOAD_RECORD"
STORED_SPEC = {"n_samples": 2000, "min_length": 5, "max_length": 50, "seed": 7}
WINDOW = 3.0  # weights are drawn from [-3, 3]², the explorer's default window
SYNC_WAIT = 10  # seconds of ?wait= for the small synchronous run
SYNC_ITERATIONS = 200
ASYNC_ITERATIONS = 500  # the tutorial's run
JOB_DEADLINE = 30.0  # seconds an asynchronous job may take before it counts as late
POLL_INTERVAL = 0.25
MAX_RETRY_AFTER = 30.0
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})

_records: list[tuple[str, int, float, float]] = []  # name, status (0: none), ms, end time
_jobs: Counter[str] = Counter()  # asynchronous jobs by how they ended ("late": deadline)
_stored: dict[str, str] = {}


def _is_loopback(host: str) -> bool:
    name = urlsplit(host).hostname or ""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _prepare(environment: Environment, **_: Any) -> None:
    """Refuse any host but this machine's, then store the generated dataset (idempotent)."""
    host = environment.host or ""
    if not _is_loopback(host):
        raise SystemExit(f"refusing to send load to {host!r}: only loopback hosts")
    request = urllib.request.Request(
        f"{host}/datasets",
        data=json.dumps(STORED_SPEC).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        _stored["id"] = json.load(response)["id"]


def _record(name: str, response_time: float, response: Any = None, **_: Any) -> None:
    status = int(getattr(response, "status_code", 0) or 0)
    _records.append((name, status, float(response_time), time.time()))


def _dump(environment: Environment, **_: Any) -> None:
    path = os.environ.get(RECORD_ENV)
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"requests": _records, "jobs": dict(_jobs)}, f)


for _hook, _listener in (
    (events.test_start, _prepare),
    (events.request, _record),
    (events.quitting, _dump),
):
    _hook.add_listener(_listener)  # type: ignore[no-untyped-call]  # locust's hooks are untyped


def _weights() -> dict[str, float]:
    return {"wx": random.uniform(-WINDOW, WINDOW), "wrec": random.uniform(-WINDOW, WINDOW)}


def _judge(response: Any, *expected: int) -> float:
    """Mark the response; returns the seconds a 429 asks the client to wait (else 0)."""
    if response.status_code in expected:
        response.success()
    elif response.status_code == 429:
        try:
            retry_after = min(float(response.headers["Retry-After"]), MAX_RETRY_AFTER)
        except (KeyError, ValueError):
            response.failure("429 without a valid Retry-After")
            return 0.0
        response.success()
        return retry_after
    elif response.status_code == 0:
        response.failure(f"connection error: {response.error!r}")
    else:
        response.failure(f"HTTP {response.status_code}")
    return 0.0


class RnnlabUser(FastHttpUser):
    """One client of rnnlab: mostly cheap analysis calls, some surfaces, a few jobs."""

    wait_time = between(0.05, 0.25)
    connection_timeout = 10.0
    network_timeout = 30.0

    def _post(self, path: str, body: dict[str, Any], name: str, *expected: int) -> Any:
        with self.client.post(path, json=body, name=name, catch_response=True) as response:
            retry_after = _judge(response, *expected)
        gevent.sleep(retry_after)
        return response

    def _get(self, path: str, name: str) -> Any:
        with self.client.get(path, name=name, catch_response=True) as response:
            retry_after = _judge(response, 200)
        gevent.sleep(retry_after)
        return response

    @task(20)
    def loss_tutorial(self) -> None:
        self._post("/loss", {"weights": _weights()}, "/loss", 200)

    @task(10)
    def loss_stored(self) -> None:
        body = {"weights": _weights(), "dataset_id": _stored["id"]}
        self._post("/loss", body, "/loss (dataset_id)", 200)

    @task(15)
    def gradient_tutorial(self) -> None:
        self._post("/gradient", {"weights": _weights()}, "/gradient", 200)

    @task(8)
    def gradient_stored(self) -> None:
        body = {"weights": _weights(), "dataset_id": _stored["id"]}
        self._post("/gradient", body, "/gradient (dataset_id)", 200)

    @task(6)
    def surface_128_json(self) -> None:
        self._get("/loss-surface?resolution=128", "/loss-surface 128 json")

    @task(6)
    def surface_128_npy(self) -> None:
        self._get("/loss-surface?resolution=128&format=npy", "/loss-surface 128 npy")

    @task(4)
    def surface_512_npy(self) -> None:
        self._get("/loss-surface?resolution=512&format=npy", "/loss-surface 512 npy")

    @task(1)
    def surface_512_json(self) -> None:
        self._get("/loss-surface?resolution=512", "/loss-surface 512 json")

    @task(12)
    def predict(self) -> None:
        sequences = [
            [random.randint(0, 1) for _ in range(random.randint(5, 30))]
            for _ in range(random.randint(1, 10))
        ]
        self._post("/predict", {"weights": _weights(), "sequences": sequences}, "/predict", 200)

    @task(2)
    def train_sync(self) -> None:
        """A small run waited for: 200 if it ends within the wait, 202 if not."""
        body = {"iterations": SYNC_ITERATIONS}
        self._post(f"/train?wait={SYNC_WAIT}", body, f"/train?wait={SYNC_WAIT}", 200, 202)

    @task(2)
    def train_async(self) -> None:
        """The tutorial's run, queued, then polled until it ends or the deadline passes."""
        response = self._post("/train", {"iterations": ASYNC_ITERATIONS}, "/train", 202)
        if response.status_code != 202:
            return
        path = f"/jobs/{response.json()['id']}"
        deadline = time.monotonic() + JOB_DEADLINE
        while time.monotonic() < deadline:
            gevent.sleep(POLL_INTERVAL)
            poll = self._get(path, "/jobs/[id]")
            status = poll.json()["status"] if poll.status_code == 200 else None
            if status in TERMINAL:
                _jobs[status] += 1
                return
        _jobs["late"] += 1
