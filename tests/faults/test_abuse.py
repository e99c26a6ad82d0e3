"""Abusive clients against a real server: floods, slow talkers, hoarders of streams.

Each check is about order, not speed: the server must answer others *while* the abuse
is still going on (the abuser is held mid-request by the test itself), and must end the
abuse by itself within a bound the test waits for.
"""

from __future__ import annotations

import contextlib
import json
import re
import select
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests._processes import Server, running, wait_until
from tests.faults.conftest import FAST, submit

pytestmark = pytest.mark.slow

GUARDS = {
    "RNNLAB_HEADER_TIMEOUT": "2",
    "RNNLAB_BODY_TIMEOUT": "2",
    "RNNLAB_MAX_CONNECTIONS": "40",
    "RNNLAB_MAX_EVENT_STREAMS_PER_JOB": "2",
    "RNNLAB_MAX_EVENT_STREAMS": "3",
}


@contextlib.contextmanager
def serving(tmp_path: Path, logs: Path, **env: str) -> Iterator[Server]:
    base = {"RNNLAB_DATA_DIR": str(tmp_path / "data"), "RNNLAB_EMBEDDED_WORKERS": "0"}
    server = Server(base | FAST | GUARDS | env, logs / "serve.log")
    with running(server):
        server.wait_up()
        yield server


@pytest.fixture
def server(tmp_path: Path, logs: Path) -> Iterator[Server]:
    with serving(tmp_path, logs) as server:
        yield server


def connect(server: Server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=30)


def status_line(sock: socket.socket) -> bytes:
    """The first line the server sends on ``sock`` (b"" if it just closed)."""
    data = b""
    with contextlib.suppress(OSError):
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    return data.split(b"\r\n", 1)[0]


def test_a_maximal_upload_is_refused_while_it_streams_and_health_answers_meanwhile(
    server: Server,
) -> None:
    row = b"[" + b",".join([b"0.5"] * 100) + b"]"
    sent = threading.Event()
    proceed = threading.Event()

    def body() -> Iterator[bytes]:
        yield b'{"sequences": ['
        for i in range(300_000):  # 30,000,000 numbers: over max_body_numbers
            yield (b"," if i else b"") + row
            if i == 1_000:
                sent.set()
                proceed.wait(30)  # hold the upload mid-way while /health is asked
        yield b"]}"

    answers: list[httpx.Response | Exception] = []

    def upload() -> None:
        try:
            answers.append(
                httpx.post(
                    f"{server.url}/datasets",
                    content=body(),
                    headers={"content-type": "application/json"},
                    timeout=120,
                )
            )
        except httpx.HTTPError as exc:  # the server may close before the body is all sent
            answers.append(exc)

    uploader = threading.Thread(target=upload)
    uploader.start()
    assert sent.wait(30)
    assert server.client.get("/health").json() == {"status": "ok"}  # during the upload
    proceed.set()
    uploader.join(timeout=120)
    [answer] = answers
    if isinstance(answer, httpx.Response):
        assert answer.status_code == 413
        assert answer.json()["limit"]["name"] == "max_body_numbers"
    assert server.client.get("/datasets").json()["items"] == []


def test_slow_headers_are_cut_off(server: Server) -> None:
    slow = [connect(server) for _ in range(20)]
    for sock in slow:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
    assert server.client.get("/health").status_code == 200  # others are served meanwhile
    for sock in slow:  # each one a byte at a time: the header deadline still ends it
        with contextlib.suppress(OSError):
            sock.sendall(b"X")
    lines = [status_line(sock) for sock in slow]
    for sock in slow:
        sock.close()
    assert all(line in (b"HTTP/1.1 408 Request Timeout", b"") for line in lines), lines
    assert lines.count(b"HTTP/1.1 408 Request Timeout") >= 1


def test_a_slow_body_is_cut_off(server: Server) -> None:
    sock = connect(server)
    sock.sendall(
        b"POST /loss HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n{"
    )
    assert status_line(sock) == b"HTTP/1.1 408 Request Timeout"
    sock.close()


def test_a_client_that_stops_reading_is_dropped_and_its_admission_freed(
    tmp_path: Path, logs: Path
) -> None:
    with serving(tmp_path, logs, RNNLAB_SEND_TIMEOUT="2") as server:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills at once
        sock.connect(("127.0.0.1", server.port))
        sock.sendall(
            b"GET /loss-surface?resolution=1024&format=csv HTTP/1.1\r\nHost: x\r\n\r\n"
        )  # ~20 MB of CSV that is never read
        try:
            wait_until(lambda: "client stopped reading" in server.output(), 60)
            admitted = re.compile(r"^rnnlab_computations_admitted (\S+)$", re.MULTILINE)

            def freed() -> bool:
                found = admitted.search(server.client.get("/metrics").text)
                return found is not None and float(found.group(1)) == 0

            wait_until(freed, 30)
        finally:
            sock.close()
        assert server.client.get("/health").status_code == 200


def test_connections_beyond_the_cap_are_told_so(tmp_path: Path, logs: Path) -> None:
    with serving(tmp_path, logs, RNNLAB_HEADER_TIMEOUT="60") as server:
        held = [connect(server) for _ in range(45)]
        try:
            refused: set[socket.socket] = set()
            while True:  # until a second passes with no new answer (headers may take 60 s)
                ready, _, _ = select.select([s for s in held if s not in refused], [], [], 1)
                if not ready:
                    break
                refused.update(ready)
            assert {status_line(sock) for sock in refused} == {b"HTTP/1.1 503 Service Unavailable"}
            assert len(refused) >= 5
        finally:
            for sock in held:
                sock.close()
        wait_until(lambda: server.client.get("/health").status_code == 200, 30)


def test_event_streams_are_capped_per_job_and_in_total(server: Server) -> None:
    first, second = submit(server, {}), submit(server, {})  # no workers: they stay queued
    with contextlib.ExitStack() as streams:
        client = streams.enter_context(httpx.Client(base_url=server.url, timeout=30))
        readers: list[Iterator[str]] = []  # a reader dropped would close its stream

        def open_stream(job_id: str) -> int:
            response = streams.enter_context(client.stream("GET", f"/jobs/{job_id}/events"))
            if response.status_code == 200:
                readers.append(response.iter_lines())
                next(readers[-1])  # the first event arrived: the stream is open
            return response.status_code

        assert [open_stream(first), open_stream(first)] == [200, 200]
        assert open_stream(first) == 429  # per job
        assert open_stream(second) == 200
        assert open_stream(second) == 503  # in total
        assert server.client.get(f"/jobs/{first}").status_code == 200
    # Closed streams give their places back.
    wait_until(lambda: open_after_close(server, first) == 200, 30)


def open_after_close(server: Server, job_id: str) -> int:
    with (
        httpx.Client(base_url=server.url, timeout=10) as client,
        client.stream("GET", f"/jobs/{job_id}/events") as response,
    ):
        return response.status_code


def test_every_log_line_of_every_process_is_one_json_object(tmp_path: Path, logs: Path) -> None:
    with serving(tmp_path, logs, RNNLAB_EMBEDDED_WORKERS="2") as server:
        assert server.client.post("/train", params={"wait": 60}, json={}).status_code == 200
        server.client.get("/nowhere")
        server.client.post("/loss", content=b"{", headers={"content-type": "application/json"})
        wait_until(lambda: '"/nowhere"' in server.output(), 30)
        lines = [line for line in server.output().splitlines() if line.strip()]
    loggers = set()
    for line in lines:
        record = json.loads(line)
        assert {"time", "level", "logger", "message"} <= set(record)
        loggers.add(record["logger"])
    assert {"rnnlab.access", "rnnlab.launcher", "rnnlab.jobs", "huey.consumer"} <= loggers
