"""What ``Job`` and ``AsyncJob`` share: the last known state of a job and its event stream.

A job handle keeps the state the service last reported (``JobState``); its properties
read that state, never the network. ``refresh``, ``cancel`` and ``wait`` (in the two
handle classes) are what update it.
"""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import datetime

from rnnlab_client._sse import Event
from rnnlab_client.errors import Problem, WaitTimeoutError
from rnnlab_client.models import JobResult, JobState, JobStatus, Progress

__all__ = ["IDLE_TIMEOUT", "POLL_INTERVAL", "Deadline", "JobView"]

# The server pings an idle event stream every 15 s: a stream silent for longer is broken.
IDLE_TIMEOUT = 45.0
# How often wait() asks GET /jobs/{id} when the server refuses another event stream.
POLL_INTERVAL = 0.5


class Deadline:
    """The end of a ``wait(timeout=...)`` on the monotonic clock (None: no end)."""

    def __init__(self, timeout: float | None) -> None:
        if timeout is not None and not timeout >= 0:
            raise ValueError(f"timeout must be >= 0 seconds, got {timeout}")
        self.timeout = timeout
        self._end = None if timeout is None else time.monotonic() + timeout

    def remaining(self) -> float | None:
        return None if self._end is None else max(0.0, self._end - time.monotonic())

    def check(self, state: JobState) -> None:
        """WaitTimeoutError when the time is up and the job has not ended."""
        if self.timeout is not None and self.remaining() == 0.0 and not state.finished:
            raise WaitTimeoutError(state, self.timeout)

    def bound(self, seconds: float) -> float:
        """``seconds``, or less if the deadline comes first."""
        remaining = self.remaining()
        return seconds if remaining is None else min(seconds, remaining)


class JobView:
    """A training job as last seen: its id, status, progress, and once ended its outcome."""

    def __init__(self, state: JobState) -> None:
        self._state = state

    @property
    def id(self) -> str:
        """The job's id (sorts by creation time)."""
        return self._state.id

    @property
    def state(self) -> JobState:
        """Everything the service last reported about the job."""
        return self._state

    @property
    def status(self) -> JobStatus:
        """``queued``, ``running``, ``succeeded``, ``failed`` or ``cancelled``."""
        return self._state.status

    @property
    def finished(self) -> bool:
        """Whether the job has ended (succeeded, failed or cancelled)."""
        return self._state.finished

    @property
    def progress(self) -> Progress:
        """Iterations done of iterations asked, and the current loss and weights."""
        return self._state.progress

    @property
    def created_at(self) -> datetime | None:
        return self._state.created_at

    @property
    def started_at(self) -> datetime | None:
        return self._state.started_at

    @property
    def finished_at(self) -> datetime | None:
        return self._state.finished_at

    @property
    def error(self) -> Problem | None:
        """Why the job failed, or that it was cancelled (None otherwise)."""
        return self._state.error

    @property
    def result(self) -> JobResult:
        """The trained weights and loss of a succeeded job.

        Raises:
            JobFailedError: the job ended ``failed`` or ``cancelled`` (``.problem`` says why).
            JobNotFinishedError: the job is still queued or running: ``wait()`` first.
        """
        return self._state.outcome()

    def _apply(self, event: Event) -> None:
        """Update the state from an event of ``GET /jobs/{id}/events``."""
        if event.event == "done":
            self._state = JobState.from_json(json.loads(event.data))
        elif event.event == "progress":
            data = json.loads(event.data)
            self._state = dataclasses.replace(
                self._state,
                status=data.get("status", self._state.status),
                progress=Progress.from_json(data.get("progress") or {}),
            )

    def __repr__(self) -> str:
        p = self._state.progress
        return f"<{type(self).__name__} {self.id} {self.status} {p.iteration}/{p.iterations}>"
