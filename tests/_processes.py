"""Real ``rnnlab`` processes for end-to-end and fault tests: start, signal, watch, stop."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TypeVar

import httpx

from tests._net import free_port

REPO = Path(__file__).resolve().parents[1]
T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout: float, interval: float = 0.05) -> T:
    """Poll ``predicate`` until it returns something truthy; that value, or AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met in {timeout} s")
        time.sleep(interval)


class Process:
    """An ``rnnlab`` command as a child process in its own process group."""

    def __init__(self, args: list[str], env: Mapping[str, str], log: Path) -> None:
        self.log = log
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("RNNLAB_")}
        full_env.update(env)
        full_env["PYTHONPATH"] = str(REPO)
        self._out = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "service.cli", *args],
            env=full_env,
            cwd=REPO,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: cleanup can reach every descendant
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout=timeout)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL the whole group of this process if anything lingers."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        self._out.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


class Server(Process):
    """``rnnlab serve`` on a free port."""

    def __init__(self, env: Mapping[str, str], log: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        # One HTTP process unless a test asks for more: the limits it sets are then the
        # server's, not a share of them (tests/service/test_launcher.py runs several).
        env = {"RNNLAB_API_PROCESSES": "1", **env}
        super().__init__(["serve", "--port", str(self.port)], env, log)
        self.url = f"http://127.0.0.1:{self.port}"
        self.client = httpx.Client(base_url=self.url, timeout=30)

    def wait_up(self, timeout: float = 30) -> None:
        """Until /health answers (the app has started)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise AssertionError(f"server exited early:\n{self.output()}")
            with contextlib.suppress(httpx.HTTPError):
                if self.client.get("/health", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise AssertionError(f"server did not come up in {timeout} s:\n{self.output()}")

    def stop(self) -> None:
        self.client.close()
        super().stop()


@contextlib.contextmanager
def running(*processes: Process) -> Iterator[None]:
    try:
        yield
    finally:
        for process in processes:
            process.stop()


def descendants(pid: int) -> set[int]:
    """Pids of every process below ``pid`` (from /proc; Linux)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def pid_alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
