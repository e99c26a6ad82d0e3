"""GET /loss-surface at 512 x 512 from a live server over loopback, against baseline (b):
JSON as it is and gzipped (what it costs the server to send less), and npy.

The timed client is the standard library's ``http.client`` on a kept-alive connection: it
reads a body with one call, where httpx parses it in 64 KiB chunks in Python (about 1.5 ms
more for the 2 MB npy body, 2.5 ms for the 5 MB JSON body on the reference machine). That
time is the client's, not the service's.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import http.client
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np

from bench import baselines
from bench.core_bench import Row, best_of, max_rel
from core import tutorial_dataset


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def live_server(**settings: str) -> Iterator[str]:
    """``rnnlab serve`` on a free loopback port with a throwaway data dir (and ``settings``,
    ``RNNLAB_*`` variables)."""
    port = free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        env = {
            **os.environ,
            "RNNLAB_DATA_DIR": data_dir,
            "RNNLAB_LOG_LEVEL": "warning",
            **settings,
        }
        env.pop("RNNLAB_API_TOKEN", None)
        rnnlab = Path(sys.executable).with_name("rnnlab")
        proc = subprocess.Popen(
            [str(rnnlab), "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                        break
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("rnnlab serve did not come up")
                time.sleep(0.1)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def loss_surface_rows(size: int = 512) -> list[Row]:
    data = tutorial_dataset()
    X, t = data.inputs.astype(np.float64), data.targets
    axis = np.linspace(-3.0, 3.0, size)
    b_s, reference = best_of(lambda: baselines.vectorised_surface(X, t, axis, axis), 3)
    rows = []
    with live_server() as url:
        host, port = url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=60)
        for fmt, encoding, target in (
            ("json", "identity", ">= 15x"),
            ("json", "gzip", ">= 3x"),
            ("npy", "identity", ">= 60x"),
        ):
            path = f"/loss-surface?resolution={size}&format={fmt}"
            headers = {"Accept-Encoding": encoding}

            def fetch(path: str = path, headers: dict[str, str] = headers) -> bytes:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                body = response.read()
                if response.status != 200:
                    raise RuntimeError(f"GET {path}: {response.status} {body[:200]!r}")
                return body

            fetch()  # warm: the dataset's statistics are computed once per process
            ours_s, sent = best_of(fetch, 20)
            body = gzip.decompress(sent) if encoding == "gzip" else sent
            if fmt == "json":
                loss = np.asarray(httpx.Response(200, content=body).json()["loss"], dtype=float)
            else:
                loss = np.load(io.BytesIO(body), allow_pickle=False)
            rows.append(
                Row(
                    f"GET /loss-surface {size}x{size}, {fmt}"
                    f"{', gzip' if encoding == 'gzip' else ''} ({len(sent) / 1e6:.1f} MB sent)",
                    ours_s,
                    "(b) vectorised BPTT",
                    b_s,
                    target,
                    f"max rel diff {max_rel(loss, reference):.1e}",
                )
            )
    return rows


def point_rows(n: int = 1_000_000, length: int = 100) -> list[Row]:
    """POST /gradient and /loss by id on a big stored dataset, warm, against a 1-point
    GET /loss-surface of the same data (the statistics' own floor through HTTP)."""
    spec = {"n_samples": n, "length": length, "seed": 11}
    rows = []
    with live_server() as url, httpx.Client(base_url=url, timeout=300) as client:
        stored = client.post("/datasets", json=spec).json()["id"]
        one_point = {"dataset_id": stored, "nx": 1, "ny": 1, "wx_min": 0.9, "wx_max": 0.9}
        one_point |= {"wrec_min": 1.1, "wrec_max": 1.1}
        body = {"dataset_id": stored, "weights": {"wx": 0.9, "wrec": 1.1}}

        def surface() -> float:
            response = client.get("/loss-surface", params=one_point)
            response.raise_for_status()
            return float(response.json()["loss"][0][0])

        def point(path: str) -> dict[str, float]:
            response = client.post(path, json=body)
            response.raise_for_status()
            answer: dict[str, float] = response.json()
            return answer

        surface()  # warm: the statistics are computed once per stored dataset
        surface_s, surface_loss = best_of(surface, 20)
        for path in ("/gradient", "/loss"):
            ours_s, answer = best_of(functools.partial(point, path), 20)
            rows.append(
                Row(
                    f"POST {path} by id, {n:,} x {length}, warm",
                    ours_s,
                    "1-point GET /loss-surface",
                    surface_s,
                    ">= 0.33x (within 3x)",
                    f"rel diff of the loss {abs(answer['loss'] - surface_loss) / surface_loss:.1e}",
                )
            )
    return rows
