"""Tiny calls: server CPU per ``POST /loss`` against a bare FastAPI route, and throughput.

The load comes from a small asyncio client speaking HTTP/1.1 over kept-alive sockets
(``CONCURRENCY`` connections, one request in flight on each): it costs far less CPU per
request than an HTTP library, so more of the machine is left to the server. Server CPU is
read from ``/proc`` (user + system time of every process of the server), so it does not
depend on how busy the machine is; throughput does, and is reported as it is measured.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench.core_bench import Row
from bench.service_bench import free_port

ROOT = Path(__file__).resolve().parent.parent
CONCURRENCY = 64
BODY = b'{"weights":{"wx":1.0,"wrec":1.0}}'
TICKS = os.sysconf("SC_CLK_TCK")


def _request(host: str, port: int) -> bytes:
    return (
        f"POST /loss HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(BODY)}\r\n\r\n"
    ).encode() + BODY


async def _client(host: str, port: int, count: int) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    request = _request(host, port)
    try:
        for _ in range(count):
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(head.decode(errors="replace"))
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
    finally:
        writer.close()


def _load(port: int, total: int, *, one_at_a_time: bool = False) -> float:
    """Send ``total`` requests over CONCURRENCY connections (all at once, or one connection
    after another to warm every process up); the seconds it took."""

    async def run() -> None:
        each = total // CONCURRENCY
        if one_at_a_time:
            for _ in range(CONCURRENCY):
                await _client("127.0.0.1", port, each)
            return
        await asyncio.gather(*(_client("127.0.0.1", port, each) for _ in range(CONCURRENCY)))

    start = time.perf_counter()
    asyncio.run(run())
    return time.perf_counter() - start


def _cpu_seconds(root: int) -> float:
    """User + system seconds of ``root`` and every process below it."""
    pids = {root}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(stat[1]) in pids or int(stat[1]) == root:
                    pids.add(int(entry.name))
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(stat[11]) + int(stat[12])
    return total / TICKS


@contextlib.contextmanager
def _server(command: list[str], env: dict[str, str], port: int) -> Iterator[int]:
    proc = subprocess.Popen(
        command,
        env={**os.environ, **env},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                answer = httpx.post(
                    f"http://127.0.0.1:{port}/loss",
                    content=BODY,
                    timeout=1,
                    headers={"content-type": "application/json"},
                )
                if answer.status_code == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{command[:4]} did not come up")
            time.sleep(0.2)
        yield proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _measure(command: list[str], env: dict[str, str], port: int, total: int) -> tuple[float, float]:
    """(server CPU seconds per request, requests per second) over ``total`` requests."""
    with _server(command, env, port) as pid:
        _load(port, CONCURRENCY * 5, one_at_a_time=True)  # every process has its dataset
        _load(port, CONCURRENCY * 20)  # warm every code path
        before = _cpu_seconds(pid)
        elapsed = _load(port, total)
        cpu = _cpu_seconds(pid) - before
    return cpu / total, total / elapsed


def tiny_call_rows(total: int = 20_000) -> list[Row]:
    rows = []
    port = free_port()
    minimal = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.minimal_app:app",
        "--port",
        str(port),
        "--http",
        "httptools",
        "--loop",
        "uvloop",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    floor_cpu, floor_rate = _measure(minimal, {}, port, total)
    rnnlab = [str(Path(sys.executable).with_name("rnnlab")), "serve", "--port", str(port)]
    results = {}
    for processes in (1, 2):
        with tempfile.TemporaryDirectory() as data_dir:
            env = {
                "RNNLAB_DATA_DIR": data_dir,
                "RNNLAB_EMBEDDED_WORKERS": "0",
                "RNNLAB_API_PROCESSES": str(processes),
                "RNNLAB_LOG_LEVEL": "warning",
            }
            results[processes] = _measure(rnnlab, env, port, total)
    cpu, rate = results[1]
    rows.append(
        Row(
            "POST /loss (tutorial), server CPU per request",
            cpu,
            f"bare FastAPI route ({floor_rate:,.0f} req/s on 1 process)",
            floor_cpu,
            ">= 0.67x (<= 1.5x its CPU)",
            f"{rate:,.0f} req/s on 1 process, {CONCURRENCY} clients",
        )
    )
    rows.append(
        Row(
            f"POST /loss (tutorial), {CONCURRENCY} clients, 2 HTTP processes (time per request)",
            1 / results[2][1],
            "the same on 1 HTTP process",
            1 / rate,
            ">= 1.6x",
            f"{results[2][1]:,.0f} req/s against {rate:,.0f}",
        )
    )
    return rows
