"""Sending a request with retries, for the synchronous and the asynchronous client.

What is retried, and why it is safe:

- **429 and 503 answers**, for every request, ``POST /train`` included: the service
  answers them before doing anything (a full queue, a job backend that is down, too many
  computations waiting, too many event streams), and a refused ``POST /train`` leaves no
  job behind. The wait is the answer's ``Retry-After`` (seconds or an HTTP date), never
  less; a ``Retry-After`` longer than ``Retries.max_wait`` is not waited for: the
  ``ProblemError`` is raised at once with its ``retry_after``, for the caller to decide.
  Without the header the wait is exponential backoff with full jitter.
- **Connection failures before the request was sent** (refused, unreachable, connect or
  pool timeout), for every request: nothing reached the server.
- **Failures after it was sent** (connection reset, read timeout, a response cut short)
  only for requests that can be repeated without changing the outcome: every GET, and the
  POSTs that only compute (``/loss``, ``/gradient``, ``/gradient-check``, ``/predict``)
  or are content-addressed (``POST /datasets``: the same data gives the same id). Never for
  ``POST /train`` (a second job could be queued) nor for the DELETEs (a repeated DELETE
  answers 404 or 409 about the first one's success).

Everything else (4xx, other 5xx) raises ``ProblemError`` at once.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import os
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from rnnlab_client import __version__
from rnnlab_client.errors import ConnectionFailedError, Problem, ProblemError

__all__ = [
    "DEFAULT_URL",
    "AsyncHTTP",
    "Request",
    "Retries",
    "SyncHTTP",
    "as_retries",
    "base_url",
    "default_headers",
    "parse_retry_after",
    "problem_error",
]

RETRY_STATUSES = frozenset({429, 503})
# Raised before any byte of the request left: repeating it cannot do anything twice.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class Retries:
    """How a call is retried: at most ``total`` more attempts after the first.

    ``max_wait`` is the longest single wait, in seconds: a ``Retry-After`` above it is
    not honoured by waiting (the error is raised with its ``retry_after``). Without a
    ``Retry-After``, attempt n (from 0) waits a random time in
    [0, min(max_wait, backoff * 2**n)] (full jitter, so that clients refused together
    do not come back together). ``Retries(total=0)`` never retries.
    """

    total: int = 3
    max_wait: float = 30.0
    backoff: float = 0.5

    def __post_init__(self) -> None:
        if self.total < 0 or not self.max_wait >= 0 or not self.backoff >= 0:
            raise ValueError(f"retries must be >= 0 and waits finite and >= 0, got {self}")

    def wait(
        self, attempt: int, retry_after: float | None, rng: Callable[[], float]
    ) -> float | None:
        """Seconds to wait before retry number ``attempt`` (from 0), or None for no retry."""
        if attempt >= self.total:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_wait else None
        return rng() * min(self.max_wait, self.backoff * 2.0**attempt)


@dataclass(frozen=True)
class Request:
    """One HTTP request of the API, with what retrying it needs to know."""

    method: str
    path: str
    params: Mapping[str, Any] | None = None
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    # Whether a failure after sending may be repeated (see the module's docstring).
    idempotent: bool = True
    # Whether 429/503 answers are waited for and retried (False: raised at once).
    retry_statuses: bool = True
    timeout: httpx.Timeout | None = None


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` in seconds: delay-seconds or an HTTP date; None if absent or invalid."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def problem_error(response: httpx.Response) -> ProblemError:
    """The ``ProblemError`` of an error answer (its body read), problem+json or not."""
    body: Any = None
    if "json" in response.headers.get("content-type", ""):
        try:
            body = response.json()
        except ValueError:
            body = None
    if isinstance(body, Mapping):
        problem = Problem.from_json(body, response.status_code)
    else:  # not the service's answer (a proxy's page, say): keep what it said
        problem = Problem(
            status=response.status_code,
            title=response.reason_phrase,
            detail=response.text[:500].strip(),
        )
    return ProblemError(
        problem,
        request_id=response.headers.get("x-request-id"),
        retry_after=parse_retry_after(response.headers.get("retry-after")),
    )


def _retryable(request: Request, exc: httpx.TransportError) -> bool:
    return isinstance(exc, _NOT_SENT) or request.idempotent


def _failed(request: Request, exc: httpx.TransportError) -> ConnectionFailedError:
    return ConnectionFailedError(f"{request.method} {request.path}: {type(exc).__name__}: {exc}")


class _Policy:
    """The retry decisions both transports share; they differ only in how they wait."""

    def __init__(self, retries: Retries, rng: Callable[[], float]) -> None:
        self.retries = retries
        self.rng = rng

    def after_error(self, request: Request, exc: httpx.TransportError, attempt: int) -> float:
        """The wait before the next attempt, or raise ConnectionFailedError."""
        delay = self.retries.wait(attempt, None, self.rng) if _retryable(request, exc) else None
        if delay is None:
            raise _failed(request, exc) from exc
        return delay

    def after_status(self, request: Request, error: ProblemError, attempt: int) -> float:
        """The wait before the next attempt, or raise the ProblemError."""
        if error.status not in RETRY_STATUSES or not request.retry_statuses:
            raise error
        delay = self.retries.wait(attempt, error.retry_after, self.rng)
        if delay is None:
            raise error
        return delay


def _arguments(request: Request) -> dict[str, Any]:
    arguments: dict[str, Any] = {"params": request.params, "headers": dict(request.headers)}
    if request.json is not None:
        arguments["json"] = request.json
    if request.timeout is not None:
        arguments["timeout"] = request.timeout
    return arguments


class SyncHTTP:
    """Requests over an ``httpx.Client``, retried as ``retries`` says; waits with ``sleep``."""

    def __init__(
        self,
        client: httpx.Client,
        retries: Retries,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.client = client
        self.sleep = sleep
        self._policy = _Policy(retries, rng)

    def send(self, request: Request) -> httpx.Response:
        """The successful (status < 400) response, its body read; or raise."""
        response = self._open(request, read=True)
        response.close()
        return response

    @contextmanager
    def stream(self, request: Request) -> Iterator[httpx.Response]:
        """The successful response with its body still to be read (for event streams)."""
        response = self._open(request, read=False)
        try:
            yield response
        finally:
            response.close()

    def _open(self, request: Request, *, read: bool) -> httpx.Response:
        attempt = 0
        while True:
            response: httpx.Response | None = None
            try:
                response = self.client.send(
                    self.client.build_request(request.method, request.path, **_arguments(request)),
                    stream=True,
                )
                if response.status_code < 400 and not read:
                    return response
                response.read()
            except httpx.TransportError as exc:
                if response is not None:
                    response.close()
                delay = self._policy.after_error(request, exc, attempt)
            else:
                if response.status_code < 400:
                    return response
                delay = self._policy.after_status(request, problem_error(response), attempt)
            self.sleep(delay)
            attempt += 1


class AsyncHTTP:
    """``SyncHTTP`` over an ``httpx.AsyncClient``; waits with ``await sleep(seconds)``."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        retries: Retries,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.client = client
        self.sleep = sleep
        self._policy = _Policy(retries, rng)

    async def send(self, request: Request) -> httpx.Response:
        """The successful (status < 400) response, its body read; or raise."""
        response = await self._open(request, read=True)
        await response.aclose()
        return response

    @asynccontextmanager
    async def stream(self, request: Request) -> AsyncIterator[httpx.Response]:
        """The successful response with its body still to be read (for event streams)."""
        response = await self._open(request, read=False)
        try:
            yield response
        finally:
            await response.aclose()

    async def _open(self, request: Request, *, read: bool) -> httpx.Response:
        attempt = 0
        while True:
            response: httpx.Response | None = None
            try:
                response = await self.client.send(
                    self.client.build_request(request.method, request.path, **_arguments(request)),
                    stream=True,
                )
                if response.status_code < 400 and not read:
                    return response
                await response.aread()
            except httpx.TransportError as exc:
                if response is not None:
                    await response.aclose()
                delay = self._policy.after_error(request, exc, attempt)
            else:
                if response.status_code < 400:
                    return response
                delay = self._policy.after_status(request, problem_error(response), attempt)
            await self.sleep(delay)
            attempt += 1


# -- configuration shared by both clients ---------------------------------------------------

DEFAULT_URL = "http://127.0.0.1:8000"


def base_url(url: str | None) -> str:
    """``url``, else ``RNNLAB_URL``, else the address ``rnnlab serve`` listens on by default."""
    return (url or os.environ.get("RNNLAB_URL") or DEFAULT_URL).rstrip("/")


def default_headers(token: str | None, extra: Mapping[str, str] | None) -> dict[str, str]:
    """User-Agent and, with a token (``token``, else ``RNNLAB_API_TOKEN``), its bearer header.

    ``token=""`` sends no token even when the environment has one.
    """
    headers = {"User-Agent": f"rnnlab-client/{__version__} httpx/{httpx.__version__}"}
    secret = os.environ.get("RNNLAB_API_TOKEN") if token is None else token
    if secret:
        headers["Authorization"] = f"Bearer {secret}"
    headers.update(extra or {})
    return headers


def as_retries(retries: int | Retries) -> Retries:
    """A count of retries as the default policy with that count."""
    return retries if isinstance(retries, Retries) else Retries(total=retries)
