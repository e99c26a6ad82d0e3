"""Request plumbing as plain ASGI middleware (streaming responses pass through untouched).

``HeadMiddleware`` answers HEAD wherever GET is answered: FastAPI's routes take only the
methods they were declared with, and declaring HEAD on each would list every GET twice in
the OpenAPI document; so HEAD is routed as GET and the body is not sent.

``install_middleware`` stacks it in one order, outermost first: request id and log, CORS
(so that preflights and errors carry its headers, and no token is asked of a preflight),
HEAD as GET, security headers, gzip, bearer auth, then the body limits nearest the app.

``RequestContextMiddleware``: an ``X-Request-ID`` on every response (the client's when it
sent a sane one), one JSON log line per request, and a 500 problem for anything that
escaped the handlers. ``BodyLimitMiddleware``: request bodies over ``max_body_bytes`` get
a 413 problem (Starlette's own limit answers plain text when Content-Length is too big).
(Bearer auth: ``service.web.auth``; bodies and readers too slow: ``service.web.protocol``,
where a deadline costs a timer per connection rather than a cancel scope per message.)
"""

from __future__ import annotations

import itertools
import logging
import secrets
import time
from typing import Any

from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.config import Settings
from service.errors import LimitExceeded
from service.web.auth import BearerAuthMiddleware
from service.web.body import BodyRejected
from service.web.context import run_request_end
from service.web.encoding import NPY_MEDIA_TYPE
from service.web.headers import SecurityHeadersMiddleware
from service.web.problems import problem_response, service_problem

__all__ = [
    "BodyLimitMiddleware",
    "HeadMiddleware",
    "RequestContextMiddleware",
    "install_middleware",
]

REQUEST_ID_HEADER = "X-Request-ID"
EXPOSED_HEADERS = ["ETag", "Location", "Retry-After", "X-Overflow", REQUEST_ID_HEADER]
"""Headers a page on another origin may read (CORS shows it only the basic ones)."""

access_logger = logging.getLogger("rnnlab.access")
error_logger = logging.getLogger("rnnlab.errors")


# A new id: this process's random prefix and a counter (unique without a system call).
_ID_PREFIX = secrets.token_hex(8)
_ids = itertools.count()


def _request_id(headers: Headers) -> str:
    """The client's id when it is short printable ASCII (safe to log and echo), else a new one."""
    given = headers.get(REQUEST_ID_HEADER)
    if given and len(given) <= 128 and given.isascii() and given.isprintable():
        return given
    return f"{_ID_PREFIX}{next(_ids):016x}"


class RequestContextMiddleware:
    """Request id, access log, last-resort error answer and end-of-request bookkeeping."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(Headers(scope=scope))
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        response_started = answered_error = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            error_logger.error(
                "unhandled error on %s %s (request %s)",
                scope["method"],
                scope["path"],
                request_id,
                exc_info=exc,
            )
            if response_started:
                raise
            response = problem_response(
                500,
                "an unexpected error occurred; it has been logged",
                instance=scope["path"],
                headers={REQUEST_ID_HEADER: request_id},
            )
            await response(scope, receive, send)
            answered_error = True
        finally:
            if not (response_started or answered_error):
                status = 499  # cancelled before any answer: the client left (nginx's code)
            run_request_end(scope)
            _log_access(scope, status, started, request_id)


def _log_access(scope: Scope, status: int, started: float, request_id: str) -> None:
    if not access_logger.isEnabledFor(logging.INFO):
        return
    line: dict[str, Any] = {
        "event": "request",
        "method": scope["method"],
        "path": scope["path"],
        "status": status,
        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
        "request_id": request_id,
    }
    client = scope.get("client")
    if client:
        line["client"] = client[0]
    access_logger.info("request", extra=line)


class BodyLimitMiddleware:
    """Bodies that are too large end in a problem instead of being taken in.

    413 at once when Content-Length is over ``max_body_bytes``, or as soon as the streamed
    body passes it (the route's body read raises ``BodyRejected``).
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._too_large(scope, receive, send)
            return
        received = 0

        async def receive_with_limit() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyRejected(self._over(received))
            return message

        await self.app(scope, receive_with_limit, send)

    def _over(self, size: int) -> LimitExceeded:
        limit = self.max_body_bytes
        return LimitExceeded("max_body_bytes", limit, size, "the request body (bytes)", ("body",))

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = int(Headers(scope=scope)["content-length"])
        response = service_problem(self._over(declared), scope["path"], {"Connection": "close"})
        await response(scope, receive, send)


class HeadMiddleware:
    """HEAD as GET without the body (the headers, Content-Length included, are GET's)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        done = False

        async def send_headers_only(message: Message) -> None:
            nonlocal done
            if message["type"] == "http.response.start":
                await send(message)
            elif message["type"] == "http.response.body" and not done:
                done = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)


def install_middleware(app: FastAPI, settings: Settings) -> None:
    """Wrap ``app`` in the stack above (each ``add_middleware`` wraps the ones before)."""
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    if settings.api_token is not None:
        app.add_middleware(BearerAuthMiddleware, token=settings.api_token.get_secret_value())
    if settings.gzip_level:
        app.add_middleware(
            GZipMiddleware,
            minimum_size=1024,
            compresslevel=settings.gzip_level,
            exclude_content_types=(*DEFAULT_EXCLUDED_CONTENT_TYPES, NPY_MEDIA_TYPE),
        )
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(HeadMiddleware)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "HEAD", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "If-None-Match", "X-Request-ID"],
            expose_headers=EXPOSED_HEADERS,
            max_age=600,
        )
    app.add_middleware(RequestContextMiddleware)
