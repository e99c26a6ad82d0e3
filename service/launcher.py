"""``rnnlab serve``: the API (uvicorn) and a job consumer process side by side.

The API runs in ``RNNLAB_API_PROCESSES`` processes (default: the machine's cores), since
one event loop uses one core: with one, uvicorn serves in this process; with more,
uvicorn's supervisor runs them on one shared socket, replaces one that dies, and each
takes its share of the server-wide limits (``Settings.shared_by``); their metrics are
summed at every scrape (``service.web.metrics``).

Why a separate consumer process: a huey consumer installs its own signal handlers, which
fight uvicorn's when both live in one process, and only huey's own run loop replaces
worker processes that die. So the launcher runs ``rnnlab worker`` as a child:

- SIGINT/SIGTERM: uvicorn shuts down gracefully (open event streams get
  ``GRACEFUL_SHUTDOWN`` seconds) while the consumer is told to stop at once; running jobs
  go back to the queue and resume at the next start. Both are waited for.
- The consumer dies unexpectedly: it is restarted (it is part of the product).
- The launcher dies (even by SIGKILL): the consumer notices its parent is gone and
  stops, and its workers follow it (``service.jobs.worker.consumer``).

``RNNLAB_EMBEDDED_WORKERS=0`` runs the API alone (a replica of the distributed setup).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from types import FrameType

import uvicorn
from fastapi import FastAPI
from uvicorn.supervisors.multiprocess import Multiprocess

from core.threads import limit_blas_threads
from service.config import Settings
from service.web.logs import configure_logging
from service.web.metrics import MULTIPROCESS_DIR, mark_process_dead
from service.web.protocol import GuardedHttpProtocol

logger = logging.getLogger("rnnlab.launcher")

GRACEFUL_SHUTDOWN = 5  # seconds uvicorn gives open connections (event streams) at shutdown
CONSUMER_STOP = 10.0  # seconds the consumer gets to requeue its jobs before SIGKILL


class ConsumerProcess:
    """``rnnlab worker`` as a child process, restarted if it dies while it should run."""

    def __init__(self, workers: int) -> None:
        self._command = [
            sys.executable,
            "-m",
            "service.cli",
            "worker",
            "--workers",
            str(workers),
            "--parent-pid",
            str(os.getpid()),
        ]
        self._proc: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._watcher = threading.Thread(target=self._watch, name="consumer-watch", daemon=True)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> None:
        self._spawn()
        self._watcher.start()

    def signal_stop(self) -> None:
        """Ask the consumer to stop (SIGTERM: stop now, requeue running jobs)."""
        self._stopping.set()
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                self._proc.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        """Stop the consumer and wait for it; SIGKILL after ``CONSUMER_STOP`` seconds."""
        self.signal_stop()
        proc = self._proc
        if proc is None:
            return
        try:
            proc.wait(timeout=CONSUMER_STOP)
        except subprocess.TimeoutExpired:
            logger.warning("consumer did not stop in %.0f s; killing it", CONSUMER_STOP)
            proc.kill()
            proc.wait()

    def _spawn(self) -> None:
        with self._lock:
            if not self._stopping.is_set():
                self._proc = subprocess.Popen(self._command)
                logger.info("job consumer started (pid %d)", self._proc.pid)

    def _watch(self) -> None:
        """Restart the consumer when it dies; one that keeps dying at once, less and less
        often (a supervisor loop for the life of the server, not a bounded retry)."""
        backoff = 1.0
        while not self._stopping.wait(0.5):
            proc = self._proc
            if proc is None or proc.poll() is None:
                continue
            started = time.monotonic()
            logger.error(
                "job consumer exited with %s; restarting in %.0f s", proc.returncode, backoff
            )
            if self._stopping.wait(backoff):
                return
            self._spawn()
            # a consumer that keeps dying at once is restarted less and less often
            backoff = min(backoff * 2, 30.0) if time.monotonic() - started < 60 else 1.0


class _Server(uvicorn.Server):
    """uvicorn's server, telling the consumer to stop as soon as a signal arrives."""

    def __init__(self, config: uvicorn.Config, consumer: ConsumerProcess | None) -> None:
        super().__init__(config)
        self._consumer = consumer

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._consumer is not None:
            self._consumer.signal_stop()
        super().handle_exit(sig, frame)


def process_app() -> FastAPI:
    """The app of one HTTP process (uvicorn's factory, in this process or a spawned one):
    settings from the environment, with this process's share of the server-wide limits."""
    from service.app import create_app

    settings = Settings()
    configure_logging(settings.log_level)
    limit_blas_threads(settings.blas_threads)
    share = settings.shared_by(settings.api_processes)
    GuardedHttpProtocol.configure(share)
    return create_app(share)


class _Supervisor(Multiprocess):
    """uvicorn's supervisor of HTTP processes, which also stops the consumer on a signal
    and drops the live metrics of a process that is gone."""

    def __init__(self, config: uvicorn.Config, consumer: ConsumerProcess | None) -> None:
        super().__init__(config, sockets=[config.bind_socket()])
        self._consumer = consumer
        self._pids: set[int] = set()

    def handle_int(self) -> None:
        if self._consumer is not None:
            self._consumer.signal_stop()
        super().handle_int()

    def handle_term(self) -> None:
        if self._consumer is not None:
            self._consumer.signal_stop()
        super().handle_term()

    def keep_subprocess_alive(self) -> None:
        super().keep_subprocess_alive()
        alive = {p.pid for p in self.processes if p.pid is not None and p.exitcode is None}
        for pid in self._pids - alive:
            mark_process_dead(pid)
        self._pids = alive


def serve(settings: Settings, host: str, port: int) -> int:
    """Run the API and (unless ``embedded_workers`` is 0) the job consumer until a signal."""
    consumer = ConsumerProcess(settings.embedded_workers) if settings.embedded_workers else None
    processes = settings.api_processes
    config = uvicorn.Config(
        "service.launcher:process_app",
        factory=True,
        host=host,
        port=port,
        workers=processes,
        http=GuardedHttpProtocol,
        log_level=settings.log_level,
        log_config=None,  # every process logs JSON lines (service.web.logs)
        access_log=False,  # the app logs one JSON line per request itself
        server_header=False,
        timeout_keep_alive=settings.keep_alive_timeout,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN,
    )
    if processes == 1:
        return _serve_here(config, consumer)
    metrics_dir = tempfile.mkdtemp(prefix="rnnlab-metrics-")
    os.environ[MULTIPROCESS_DIR] = metrics_dir  # inherited by the processes spawned below
    try:
        supervisor = _Supervisor(config, consumer)
        if consumer is not None:
            consumer.start()
        try:
            supervisor.run()
        finally:
            if consumer is not None:
                consumer.stop()
            for sock in supervisor.sockets:
                sock.close()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def _serve_here(config: uvicorn.Config, consumer: ConsumerProcess | None) -> int:
    """One HTTP process: uvicorn in this one."""
    server = _Server(config, consumer)
    # Outside server.run() (before it, and when uvicorn re-raises the stopping signal
    # after it) a signal only asks the server to stop, so the launcher always gets to
    # wait for the consumer.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, server.handle_exit)
    if consumer is not None:
        consumer.start()
    try:
        server.run()
    finally:
        if consumer is not None:
            consumer.stop()
    return 0 if server.started else 1
