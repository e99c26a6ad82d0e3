"""Short jobs: ``POST /train?wait=`` on the tutorial run, against what it cannot beat.

The floor of a queued job is the training itself plus the queue's own round trip. Both
are measured here, in the same run: the tutorial's 500 RProp iterations in process, and
huey's enqueue -> result of a task that does nothing, on the same backend with the same
consumer settings (process workers, the same SQLite polling), its result fetched with
huey's own blocking ``get``. The target: a short job
through the whole service (HTTP, the job store, the worker's records, the wait) within
3x the training time plus that floor.

Redis is used when one answers on ``RNNLAB_BENCH_REDIS_URL`` (default
redis://127.0.0.1:6379/14; that database is emptied before and after).
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import redis
from huey import Huey

from bench.core_bench import Row, best_of
from bench.service_bench import live_server
from core import make_optimizer, train, tutorial_dataset
from service.jobs.queue import SQLITE_POLL, make_huey

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("RNNLAB_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
ROUNDS = 30


def _median_of(fn: Callable[[], object], rounds: int = ROUNDS) -> float:
    """Median wall time of ``rounds`` calls (a queue's latency is a distribution)."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _noop() -> int:
    return 1


@contextlib.contextmanager
def _huey_floor(queue_url: str) -> Iterator[Callable[[], object]]:
    """A trivial task on huey with rnnlab's storage and consumer settings; yields a call
    that enqueues it and waits for its result."""
    with tempfile.TemporaryDirectory() as data_dir:
        huey: Huey = make_huey(queue_url, Path(data_dir))
        huey.results = True  # the floor includes handing a result back
        task = huey.task()(_noop)
        args = ["-w", "1", "-k", "process", "-n"]
        if not queue_url:  # rnnlab's SQLite polling, not huey's default (backs off to 10 s)
            args += ["-d", str(SQLITE_POLL["initial_delay"]), "-m", str(SQLITE_POLL["max_delay"])]
            args += ["-b", str(SQLITE_POLL["backoff"])]
        env = {**os.environ, "RNNLAB_BENCH_QUEUE_URL": queue_url, "RNNLAB_BENCH_DATA": data_dir}
        consumer = subprocess.Popen(
            [sys.executable, "-m", "huey.bin.huey_consumer", "bench.jobs_bench._FLOOR_HUEY", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            result = task()
            result.get(blocking=True, timeout=60)  # the consumer is up
            yield lambda: task().get(blocking=True, timeout=60)
        finally:
            consumer.terminate()
            consumer.wait(timeout=30)


def _floor_huey() -> Huey:
    """The consumer's side of ``_huey_floor`` (imported by huey_consumer by name)."""
    huey = make_huey(os.environ["RNNLAB_BENCH_QUEUE_URL"], Path(os.environ["RNNLAB_BENCH_DATA"]))
    huey.results = True
    huey.task()(_noop)
    return huey


if "RNNLAB_BENCH_QUEUE_URL" in os.environ:  # in the floor's consumer process
    _FLOOR_HUEY = _floor_huey()


def _redis_answers() -> bool:
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
        client.flushdb()
        client.close()
    except redis.RedisError:
        return False
    return True


def train_wait_rows() -> list[Row]:
    data = tutorial_dataset()
    train_s, _ = best_of(lambda: train(data, make_optimizer("rprop"), iterations=500), 20)
    backends = [("embedded SQLite", "")]
    if _redis_answers():
        backends.append(("Redis", REDIS_URL))
    rows = []
    for name, url in backends:
        with _huey_floor(url) as floor_call:
            floor_call()
            floor_s = _median_of(floor_call)
        env = {"RNNLAB_QUEUE_URL": url} if url else {}
        with live_server(**env) as base, httpx.Client(base_url=base, timeout=60) as client:

            def job() -> None:
                answer = client.post("/train?wait=30")
                if answer.status_code != 200:
                    raise RuntimeError(f"POST /train?wait: {answer.status_code} {answer.text}")

            job()
            ours_s = _median_of(job)
        if url:
            _redis_answers()  # empty it again
        bound = 3 * train_s + floor_s
        rows.append(
            Row(
                f"POST /train?wait, tutorial run, {name} (median of {ROUNDS})",
                ours_s,
                f"3 x training ({train_s * 1e3:.1f} ms) + huey's floor ({floor_s * 1e3:.1f} ms)",
                bound,
                ">= 1x",
                "succeeded",
            )
        )
    return rows
