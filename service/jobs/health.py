"""What readiness and /metrics say about the job backend beyond "it answers".

- The store's epoch (``JobStore.epoch``) is remembered: when it changes, the store was
  emptied (a Redis without persistence restarted, a flush, a deleted file) and every job
  recorded before is gone. That is logged as an error, counted (``resets``) and stays a
  warning of ``/ready`` for as long as this process runs.
- A store that will not survive its server's restart (``durability_warning``) is a
  warning too, logged once.

Both are warnings, not failures: Kubernetes-style readiness means "send me traffic", and
a store that forgot its past still serves new jobs.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from service.jobs.backend import JobBackend
from service.jobs.queue import QueueUnavailableError
from service.jobs.store.base import StoreUnavailableError

logger = logging.getLogger("rnnlab.jobs")

__all__ = ["BackendHealth", "advice"]

Components = dict[str, str]
"""Component name -> "ok", or what is wrong with it (no paths, no credentials)."""


def advice(message: str) -> str:
    """What an operator should do about a component failing with ``message``."""
    text = message.lower()

    def says(*words: str) -> bool:
        return any(word in text for word in words)

    if says("not a database", "malformed", "corrupt"):
        return (
            "the file is corrupt: stop rnnlab, move it aside and start again (a new queue "
            "file loses nothing: queued jobs are enqueued again from the job store; a new "
            "job store forgets the jobs it held)"
        )
    if (
        "readonly" in text
        or "read-only" in text
        or "permission" in text
        or "unable to open" in text
    ):
        return "make RNNLAB_DATA_DIR (and the files in it) writable by the service's user"
    if says("full", "oom", "misconf"):
        return "free disk space (or Redis memory); nothing is lost meanwhile, writes wait or fail"
    return "check that the server named by RNNLAB_QUEUE_URL runs and is reachable"


class BackendHealth:
    """Checks the backend (blocking: call it off the loop) and remembers what it found."""

    def __init__(self, backend: JobBackend) -> None:
        self._backend = backend
        self._lock = threading.Lock()
        self._epoch: str | None = None
        self._durability: str | None = None
        self._reset_note: str | None = None
        self.resets = 0
        self.persistent: bool | None = None

    def check(self) -> tuple[Components, list[str]]:
        """The state of the job store and queue, and the current warnings."""
        components: Components = {}
        try:
            self._backend.queue.ping()
            components["job_queue"] = "ok"
        except QueueUnavailableError as exc:
            components["job_queue"] = str(exc)
        store = self._backend.store
        try:
            store.ping()
            epoch = store.epoch()
            durability = store.durability_warning()
            components["job_store"] = "ok"
        except StoreUnavailableError as exc:
            components["job_store"] = str(exc)
            return components, self.warnings()
        self._observe(epoch, durability)
        return components, self.warnings()

    def warnings(self) -> list[str]:
        with self._lock:
            return [note for note in (self._durability, self._reset_note) if note]

    def _observe(self, epoch: str, durability: str | None) -> None:
        with self._lock:
            if self._epoch is not None and epoch != self._epoch:
                self.resets += 1
                when = datetime.now(UTC).isoformat(timespec="seconds")
                self._reset_note = (
                    f"the job store was emptied (noticed {when}): every job recorded "
                    "before is gone (a Redis without persistence restarted, or was flushed)"
                )
                logger.error("%s", self._reset_note)
            self._epoch = epoch
            if durability != self._durability and durability is not None:
                logger.warning("job store: %s", durability)
            self._durability = durability
            self.persistent = durability is None
