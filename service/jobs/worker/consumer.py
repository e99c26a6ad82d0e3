"""The worker side: a huey consumer whose process workers run jobs, and nothing else.

huey's own run loop (``Consumer.run``) is used because only it replaces workers that
died. Two changes to its defaults, both about stopping:

- SIGINT and SIGTERM both stop at once (huey treats SIGINT as "wait for running tasks",
  which for a long training run means minutes). Interrupted jobs are not lost: the runner
  puts them back in the queue (``runner._requeue``).
- Nothing outlives its parent: worker and scheduler processes exit when their consumer
  is gone, and a consumer started by ``rnnlab serve`` (``parent_pid``) exits when the
  launcher is gone. Forked huey processes otherwise keep running after their consumer is
  killed with -9.
"""

from __future__ import annotations

import logging
import os
import signal
from typing import Any

from huey.consumer import Consumer, ConsumerStopped, Scheduler, Worker

from core.threads import limit_blas_threads
from service.config import Settings
from service.jobs.backend import open_backend
from service.jobs.queue import SQLITE_POLL
from service.jobs.worker.tasks import CONSUMER_PID_ENV

logger = logging.getLogger("rnnlab.worker")

HEALTH_CHECK_INTERVAL = 1.0  # seconds until a dead worker process is replaced


def _exit_if_orphaned(consumer_pid: int) -> None:
    """Leave a forked huey process (worker, scheduler) whose consumer is gone."""
    if os.getpid() != consumer_pid and os.getppid() != consumer_pid:  # forked, then orphaned
        logger.warning("process %d: consumer %d is gone, exiting", os.getpid(), consumer_pid)
        raise KeyboardInterrupt  # huey's quiet way out of its process loop


class _Worker(Worker):  # type: ignore[misc]
    """A huey worker that exits when its consumer process is gone."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._consumer_pid = os.getpid()  # built in the consumer, before the fork

    def loop(self, now: Any = None) -> None:
        _exit_if_orphaned(self._consumer_pid)
        super().loop(now)


class _Scheduler(Scheduler):  # type: ignore[misc]
    """huey's scheduler process, also exiting when its consumer process is gone."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._consumer_pid = os.getpid()

    def loop(self, now: Any = None) -> None:
        _exit_if_orphaned(self._consumer_pid)
        super().loop(now)


class JobConsumer(Consumer):  # type: ignore[misc]
    """huey's consumer with immediate stops and, optionally, a parent it lives and dies with."""

    worker_class = _Worker
    scheduler_class = _Scheduler

    def __init__(self, huey: Any, *, parent_pid: int | None = None, **options: Any) -> None:
        super().__init__(huey, **options)
        self._parent_pid = parent_pid
        # Signal -> (restart, graceful): both stop now; running jobs are requeued.
        self._signal_actions[signal.SIGINT] = (False, False)
        self._signal_actions[signal.SIGTERM] = (False, False)

    def loop(self, health_check_ts: Any = None) -> Any:
        if self._parent_pid is not None and os.getppid() != self._parent_pid:
            logger.warning("consumer: launcher %d is gone, stopping", self._parent_pid)
            self.stop(graceful=False)
            raise ConsumerStopped
        return super().loop(health_check_ts)


def run_consumer(settings: Settings, workers: int, *, parent_pid: int | None = None) -> None:
    """Run ``workers`` worker processes until SIGINT/SIGTERM (or the parent's death)."""
    backend = open_backend(settings)
    limit_blas_threads(settings.blas_threads)  # the worker processes forked below inherit it
    os.environ[CONSUMER_PID_ENV] = str(os.getpid())
    polling = SQLITE_POLL if backend.queue.is_sqlite else {}
    consumer = JobConsumer(
        backend.queue.huey,
        parent_pid=parent_pid,
        workers=workers,
        worker_type="process",
        periodic=False,
        check_worker_health=True,
        health_check_interval=HEALTH_CHECK_INTERVAL,
        **polling,
    )
    logger.info("worker: %d processes on %s", workers, settings.queue_url or "the embedded queue")
    consumer.run()
