"""``rnnlab serve`` as the system under test: started, watched and always stopped.

The server runs in its own session, so its process group holds exactly the launcher
(uvicorn, the API), the huey consumer and the consumer's forked children (its scheduler
and worker processes): ``sample`` reads RSS and open file descriptors of every process in
that group, which is where a leak would show, and ``stop`` can kill the whole group if
SIGTERM does not end it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

HOST = "127.0.0.1"  # the load goes to this machine only
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0  # seconds SIGTERM gets before the group is killed
# The settings this process decides; any other RNNLAB_* variable is passed through.
OWN_SETTINGS = ("RNNLAB_DATA_DIR", "RNNLAB_HOST", "RNNLAB_PORT", "RNNLAB_API_TOKEN")


@dataclass(frozen=True)
class ProcessSample:
    pid: int
    kind: str  # api (HTTP), launcher, consumer, scheduler, worker or other
    rss: int  # bytes
    fds: int


class ServerDiedError(RuntimeError):
    """The server is gone or stopped answering during the run."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class Server:
    """A running ``rnnlab serve``; use ``running_server`` to get one."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int) -> None:
        self.proc = proc
        self.url = f"http://{HOST}:{port}"
        self.pgid = proc.pid  # leader of its own session

    def get(self, path: str, timeout: float = 5.0) -> int:
        """Status of a GET, 0 when nothing answers."""
        try:
            with urllib.request.urlopen(f"{self.url}{path}", timeout=timeout) as response:
                return int(response.status)
        except urllib.error.HTTPError as e:
            return int(e.code)
        except OSError:
            return 0

    def check(self) -> None:
        """Raise ``ServerDiedError`` unless the launcher runs and ``/health`` answers 200."""
        if self.proc.poll() is not None:
            raise ServerDiedError(f"rnnlab serve exited with {self.proc.returncode}")
        if (status := self.get("/health", timeout=10.0)) != 200:
            raise ServerDiedError(f"GET /health answered {status or 'nothing'}")

    def group(self) -> list[psutil.Process]:
        members = []
        for p in psutil.process_iter():
            with contextlib.suppress(psutil.Error, ProcessLookupError):
                if os.getpgid(p.pid) == self.pgid:
                    members.append(p)
        return members

    def http_processes(self, members: list[psutil.Process] | None = None) -> list[psutil.Process]:
        """The processes serving HTTP: the launcher's spawned children when it runs several
        (``RNNLAB_API_PROCESSES``), else the launcher itself."""
        members = self.group() if members is None else members
        spawned = [
            p
            for p in members
            if _ppid(p) == self.proc.pid
            and "multiprocessing.spawn" in _cmd(p)
            and "resource_tracker" not in _cmd(p)
        ]
        return spawned or [p for p in members if p.pid == self.proc.pid]

    def sample(self) -> list[ProcessSample]:
        """RSS and fd count of every process of the server's group, with its role.

        The consumer is the launcher's ``worker`` child; huey starts its scheduler before
        its workers, so the oldest of the consumer's children is the scheduler.
        """
        members = self.group()
        consumer = next(
            (p.pid for p in members if _ppid(p) == self.proc.pid and "worker" in _cmd(p)), None
        )
        children = sorted((p for p in members if _ppid(p) == consumer), key=_started)
        scheduler = children[0].pid if children else None
        http = {p.pid for p in self.http_processes(members)}
        samples = []
        for p in members:
            if p.pid in http:
                kind = "api"
            elif p.pid == self.proc.pid:
                kind = "launcher"
            elif p.pid == consumer:
                kind = "consumer"
            elif p.pid == scheduler:
                kind = "scheduler"
            elif _ppid(p) == consumer:
                kind = "worker"
            else:
                kind = "other"
            with contextlib.suppress(psutil.Error):
                samples.append(ProcessSample(p.pid, kind, p.memory_info().rss, p.num_fds()))
        return samples

    def fd_kinds(self) -> dict[int, Counter[str]]:
        """Open fds of every server process by what they are: ``tcp ESTABLISHED``,
        ``unix``, ``pipe``, ``anon_inode:[eventpoll]``, or a file's name (``jobs.db-wal``)."""
        kinds: dict[int, Counter[str]] = {}
        for p in self.group():
            with contextlib.suppress(psutil.Error, OSError):
                sockets = {c.fd: _socket_label(c) for c in p.net_connections(kind="all")}
                counts: Counter[str] = Counter()
                for fd in os.listdir(f"/proc/{p.pid}/fd"):
                    with contextlib.suppress(OSError):
                        target = os.readlink(f"/proc/{p.pid}/fd/{fd}")
                        if target.startswith("socket:"):
                            counts[sockets.get(int(fd), "socket")] += 1
                        elif target.startswith("pipe:"):
                            counts["pipe"] += 1
                        elif target.startswith("anon_inode:"):
                            counts[target] += 1
                        else:
                            counts[Path(target).name] += 1
                kinds[p.pid] = counts
        return kinds

    def idle(self, seconds: float) -> tuple[list[ProcessSample], dict[int, Counter[str]]]:
        """Sample and fd kinds after ``seconds`` without load, once idle timeouts have run
        (keep-alive connections, pooled threads): what is still open then is held."""
        time.sleep(seconds)
        return self.sample(), self.fd_kinds()

    def stop(self) -> list[str]:
        """SIGTERM to the launcher, SIGKILL to the group after ``STOP_TIMEOUT``.

        Returns what had to be killed (empty after a clean stop).
        """
        killed: list[str] = []
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                killed.append(
                    f"launcher {self.proc.pid} (no exit {STOP_TIMEOUT:.0f} s after SIGTERM)"
                )
        deadline = time.monotonic() + 5.0  # children may take a moment to follow it
        while (left := self.group()) and time.monotonic() < deadline:
            time.sleep(0.2)
        killed += [f"{p.pid} {_cmd(p)}" for p in left]
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5.0)
        return killed


def _socket_label(connection: Any) -> str:
    if connection.family == socket.AF_UNIX:
        return "unix"
    if connection.type == socket.SOCK_STREAM:
        return f"tcp {connection.status}"
    return "udp"


def _ppid(p: psutil.Process) -> int | None:
    try:
        return int(p.ppid())
    except psutil.Error:
        return None


def _cmd(p: psutil.Process) -> str:
    try:
        return " ".join(p.cmdline())
    except psutil.Error:
        return "?"


def _started(p: psutil.Process) -> float:
    try:
        return float(p.create_time())
    except psutil.Error:
        return float("inf")


def server_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in OWN_SETTINGS}
    env["RNNLAB_DATA_DIR"] = str(data_dir)
    return env


@contextlib.contextmanager
def running_server(data_dir: Path, log: Path, stopped: list[str]) -> Iterator[Server]:
    """``rnnlab serve`` (the venv's console script) on a free loopback port until exit.

    Whatever happens inside, the server is stopped on the way out; whatever had to be
    killed is appended to ``stopped``.
    """
    rnnlab = Path(sys.executable).with_name("rnnlab")
    port = _free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(rnnlab), "serve", "--host", HOST, "--port", str(port)],
            env=server_env(data_dir),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(proc, port)
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while server.get("/ready", timeout=2.0) != 200:
            if proc.poll() is not None:
                raise ServerDiedError(f"rnnlab serve exited with {proc.returncode} at start")
            if time.monotonic() > deadline:
                raise ServerDiedError(f"rnnlab serve not ready after {READY_TIMEOUT:.0f} s")
            time.sleep(0.2)
        yield server
    finally:
        stopped.extend(server.stop())
