"""What the client raises: one base class, and a subclass per way a call can fail.

The service answers every failure with an RFC 9457 problem document; ``ProblemError``
carries it (``status``, ``type``, ``title``, ``detail``, ``errors``) and the request id
the server logged it under, so a failure seen in a notebook can be found in the logs.
Failures without an answer (nothing listening, a broken connection, a timeout) are
``ConnectionFailedError``. Arguments the client cannot send are plain ``ValueError``s,
raised before any request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "ConnectionFailedError",
    "FieldError",
    "JobFailedError",
    "JobNotFinishedError",
    "Problem",
    "ProblemError",
    "RnnlabError",
    "UnexpectedResponseError",
    "WaitTimeoutError",
]


@dataclass(frozen=True)
class FieldError:
    """One invalid value of a request: where it is (``loc``) and what is wrong (``msg``).

    ``loc`` is the path the service names, e.g. ``("body", "weights", "wx")`` or
    ``("query", "resolution")``; ``type`` is a machine-readable kind when the service
    gives one (``"missing"``, ``"finite_number"``, ...).
    """

    loc: tuple[str | int, ...]
    msg: str
    type: str | None = None


@dataclass(frozen=True)
class Problem:
    """An RFC 9457 problem document as the service sends it.

    ``extensions`` holds the members beyond the standard ones, such as ``limit``
    (``{"name", "value"}`` of the setting a 413 ran into) or ``components`` (what a 503
    from ``/ready`` found broken).
    """

    status: int
    type: str = "about:blank"
    title: str = ""
    detail: str = ""
    instance: str | None = None
    errors: tuple[FieldError, ...] = ()
    extensions: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, body: Mapping[str, Any], status: int | None = None) -> Problem:
        """The problem in a parsed JSON body (``status`` fills in a body that lacks one)."""
        known = {"status", "type", "title", "detail", "instance", "errors"}
        errors = tuple(
            FieldError(
                loc=tuple(item.get("loc", ())),
                msg=str(item.get("msg", "")),
                type=item.get("type"),
            )
            for item in body.get("errors") or ()
            if isinstance(item, Mapping)
        )
        return cls(
            status=int(body.get("status", status or 0)),
            type=str(body.get("type", "about:blank")),
            title=str(body.get("title", "")),
            detail=str(body.get("detail", "")),
            instance=body.get("instance"),
            errors=errors,
            extensions={k: v for k, v in body.items() if k not in known},
        )

    def to_json(self) -> dict[str, Any]:
        """The document again, as JSON-ready data (what the CLI prints)."""
        body: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.instance is not None:
            body["instance"] = self.instance
        if self.errors:
            body["errors"] = [
                {"loc": list(e.loc), "msg": e.msg, **({"type": e.type} if e.type else {})}
                for e in self.errors
            ]
        body.update(self.extensions)
        return body


class RnnlabError(Exception):
    """Base class of every error the client raises for a call that did not succeed."""


class ProblemError(RnnlabError):
    """The service answered with an error status (4xx or 5xx) and a problem document.

    Attributes mirror the document: ``status`` (the HTTP status), ``type`` (a URN such as
    ``urn:rnnlab:problem:validation-error``, or ``about:blank``), ``title``, ``detail``,
    ``instance`` (the path), ``errors`` (the invalid values of a 422, as ``FieldError``s)
    and ``problem`` (the whole document, extensions included). ``request_id`` is the
    response's ``X-Request-ID``, the id the server logged the request under;
    ``retry_after`` the seconds a 429 or 503 asked to wait (None without the header).
    """

    def __init__(
        self, problem: Problem, *, request_id: str | None = None, retry_after: float | None = None
    ) -> None:
        self.problem = problem
        self.request_id = request_id
        self.retry_after = retry_after
        where = f" ({problem.instance})" if problem.instance else ""
        text = f"{problem.status} {problem.title}{where}: {problem.detail}"
        super().__init__(text.rstrip(": "))

    @property
    def status(self) -> int:
        return self.problem.status

    @property
    def type(self) -> str:
        return self.problem.type

    @property
    def title(self) -> str:
        return self.problem.title

    @property
    def detail(self) -> str:
        return self.problem.detail

    @property
    def instance(self) -> str | None:
        return self.problem.instance

    @property
    def errors(self) -> tuple[FieldError, ...]:
        return self.problem.errors


class ConnectionFailedError(RnnlabError):
    """No answer: the server could not be reached, the connection broke, or a timeout ran out.

    Raised once the retries the call allows are used up; ``__cause__`` is httpx's error.
    """


class UnexpectedResponseError(RnnlabError):
    """A success status whose body is not what the API documents (a proxy, a wrong URL).

    ``status`` and ``request_id`` say which answer it was.
    """

    def __init__(self, message: str, *, status: int, request_id: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.request_id = request_id


class JobView(Protocol):
    """What a job error tells of its job: a ``rnnlab_client.models.JobState`` (named by
    its shape here because that module raises these errors)."""

    @property
    def id(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def error(self) -> Problem | None: ...


class JobFailedError(RnnlabError):
    """A job's result was asked for, but the job ended ``failed`` or ``cancelled``.

    ``job`` is the job's final state; ``problem`` is its ``error`` (why it failed, or
    that a DELETE cancelled it), None if the service gave none.
    """

    def __init__(self, job: JobView) -> None:
        self.job = job
        self.problem: Problem | None = job.error
        reason = f": {job.error.detail}" if job.error is not None and job.error.detail else ""
        super().__init__(f"job {job.id} {job.status}{reason}")


class JobNotFinishedError(RnnlabError):
    """A job's result was asked for while it is still queued or running (call ``wait()``)."""

    def __init__(self, job: JobView) -> None:
        self.job = job
        super().__init__(f"job {job.id} is {job.status}; wait() for it to end first")


class WaitTimeoutError(RnnlabError, TimeoutError):
    """``wait(timeout=...)`` ran out before the job ended; the job itself goes on.

    ``job`` is its state when the wait gave up.
    """

    def __init__(self, job: JobView, timeout: float) -> None:
        self.job = job
        super().__init__(f"job {job.id} still {job.status} after {timeout:g} s")
