"""``/health`` while the largest admitted request of each endpoint runs.

Run with ``python -m bench.load.stalls`` (``make load`` runs it after the soak).

One request at a time, at the size limits the default settings admit, against a fresh
``rnnlab serve``; meanwhile a separate process asks ``/health`` every 10 ms. The table
(written between markers into docs/reliability.md) gives each request's status and time
and the slowest ``/health`` answer during it: the event loop must never wait on one
request's parsing, computing or encoding (target: under 100 ms).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench.load.server import running_server

DOC = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"
START, END = "<!-- stalls:start -->", "<!-- stalls:end -->"
TARGET_MS = 100.0

_PINGER = """
import json, sys, time, urllib.request
url, out = sys.argv[1], sys.argv[2]
samples = []
try:
    while True:
        started = time.perf_counter()
        urllib.request.urlopen(url, timeout=30).read()
        samples.append((time.time(), time.perf_counter() - started))
        time.sleep(0.01)
except KeyboardInterrupt:
    pass
finally:
    json.dump(samples, open(out, "w"))
"""


@dataclass(frozen=True)
class Stall:
    case: str
    status: int
    seconds: float
    health_max_ms: float
    health_p99_ms: float
    pings: int


def _sequences(rows: int, width: int, seed: int) -> list[list[float]]:
    return np.random.default_rng(seed).random((rows, width)).round(6).tolist()  # type: ignore[no-any-return]


def measure(base: str, case: str, send: Callable[[httpx.Client], httpx.Response]) -> Stall:
    """Run ``send`` while another process times ``/health`` every 10 ms."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        pinger = subprocess.Popen([sys.executable, "-c", _PINGER, f"{base}/health", out.name])
        time.sleep(0.5)  # the pinger is up and pinging
        with httpx.Client(base_url=base, timeout=600) as client:
            started_at, started = time.time(), time.perf_counter()
            response = send(client)
            seconds, ended_at = time.perf_counter() - started, time.time()
        pinger.send_signal(2)
        pinger.wait(timeout=30)
        samples = json.loads(Path(out.name).read_text() or "[]")
    during = sorted(latency for at, latency in samples if started_at <= at <= ended_at)
    if not during:
        during = [0.0]
    p99 = during[min(len(during) - 1, int(0.99 * len(during)))]
    return Stall(case, response.status_code, seconds, 1000 * during[-1], 1000 * p99, len(during))


def getter(path: str, params: dict[str, Any]) -> Callable[[httpx.Client], httpx.Response]:
    return lambda client: client.get(path, params=params)


def cases(base: str) -> list[Stall]:
    """The largest request of each endpoint that the default settings admit."""
    upload = {"sequences": _sequences(100_000, 100, 1)}  # max_upload_elements
    predict = {"weights": {"wx": 1.0, "wrec": 0.999}, "sequences": _sequences(100_000, 100, 2)}
    big = {"n_samples": 1_000_000, "length": 100, "seed": 3}  # max_dataset_elements
    rows: list[Stall] = []
    stored: dict[str, str] = {}

    def create(client: httpx.Client) -> httpx.Response:
        response = client.post("/datasets", json=upload)
        stored["id"] = response.json().get("id", "")
        return response

    rows.append(measure(base, "POST /datasets, 100,000 x 100 real numbers (41 MB)", create))
    rows.append(
        measure(
            base,
            "GET /datasets/{id}?include=data, the same 10,000,000 numbers",
            lambda c: c.get(f"/datasets/{stored['id']}", params={"include": "data"}),
        )
    )
    rows.append(
        measure(
            base,
            "POST /predict, 100,000 x 100 sequences",
            lambda c: c.post("/predict", json=predict),
        )
    )
    rows.append(
        measure(
            base,
            "POST /gradient with trace, 1,000,000 x 100 generated",
            lambda c: c.post(
                "/gradient",
                json={"weights": {"wx": 1.0, "wrec": 0.9}, "dataset": big, "include_trace": True},
            ),
        )
    )
    for fmt in ("json", "npy", "csv"):
        rows.append(
            measure(
                base,
                f"GET /loss-surface 2048 x 2048 {fmt}, 1,000,000 x 100",
                getter("/loss-surface", {**big, "resolution": 2048, "format": fmt}),
            )
        )
    rows.append(
        measure(
            base,
            "GET /gradient-over-time, 1,024 points, 100 x 1,024",
            lambda c: c.get(
                "/gradient-over-time",
                params={
                    "n_samples": 100,
                    "length": 1024,
                    "points": ",".join(f"1:{0.5 + i / 1024}" for i in range(1024)),
                },
            ),
        )
    )
    rows.append(
        measure(
            base,
            "GET /figures/loss-surface.png 4000 x 4000 px, 300 dpi, 400 x 400 grid",
            lambda c: c.get(
                "/figures/loss-surface.png",
                params={"width": 4000, "height": 4000, "dpi": 300, "resolution": 400},
            ),
        )
    )
    done = httpx.post(
        f"{base}/train", params={"wait": 600}, json={"iterations": 1_000_000}, timeout=700
    ).json()
    for fmt in ("json", "csv"):
        rows.append(
            measure(
                base,
                f"GET /jobs/{{id}}/trajectory {fmt}, 1,000,001 points",
                getter(f"/jobs/{done['id']}/trajectory", {"format": fmt}),
            )
        )
    return rows


def table(rows: list[Stall]) -> str:
    lines = [
        "| request | status | its time | /health max | /health p99 | pings |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row.case} | {row.status} | {row.seconds:,.2f} s | {row.health_max_ms:,.1f} ms "
            f"| {row.health_p99_ms:,.1f} ms | {row.pings} |"
        )
    worst = max(rows, key=lambda row: row.health_max_ms)
    met = "met" if worst.health_max_ms < TARGET_MS else "not met"
    lines += [
        "",
        f"Slowest /health answer: {worst.health_max_ms:,.1f} ms (during {worst.case}); "
        f"target under {TARGET_MS:g} ms: **{met}**.",
    ]
    return "\n".join(lines)


def write(section: str) -> None:
    text = DOC.read_text() if DOC.exists() else "# Reliability\n"
    block = f"{START}\n{section}\n{END}"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n## The largest admitted requests\n\n" + block + "\n"
    DOC.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load.stalls", description=__doc__)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    stopped: list[str] = []
    with (
        tempfile.TemporaryDirectory() as data,
        running_server(Path(data) / "data", Path(data) / "serve.log", stopped) as server,
    ):
        started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        rows = cases(server.url)
    section = (
        f"Written by `python -m bench.load.stalls` on {started} "
        f"(load average at start {load}).\n"
        "Each request alone against a fresh server with the default settings, while another\n"
        "process asks `/health` every 10 ms.\n\n" + table(rows)
    )
    print(section)
    if not args.no_write:
        write(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
