"""uvicorn's HTTP protocol with the guards it lacks: deadlines for slow clients, a connection cap.

uvicorn closes idle keep-alive connections, but a connection that trickles its request
headers (a byte every few seconds: slowloris) resets that timer with every byte and
stays open forever, one that trickles its body holds a request (and its admission) as
long as it likes, one that stops reading its response holds it too, and its
``limit_concurrency`` answers with plain text only once a request's headers are
complete. So, per connection:

- the request headers must be complete ``header_timeout`` seconds after the connection
  opened (or after the previous response, on a kept-alive connection); otherwise the
  connection gets a 408 problem and is closed;
- the body must be complete ``body_timeout`` seconds after the headers: otherwise a 408
  problem (if no response has started) and the connection is closed, which the app sees
  as a disconnect;
- a response the client does not read for ``send_timeout`` seconds (the transport's
  buffer stays full) is abandoned: the connection is dropped;
- beyond ``max_connections`` open connections, a new one gets a 503 problem at once and is
  closed, before it can hold anything.

Each deadline is one timer per connection, armed and cancelled by the protocol's own
callbacks, so a request pays nothing for them. Everything else is uvicorn's own
(httptools parser, keep-alive, flow control).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from service.config import Settings

__all__ = ["GuardedHttpProtocol", "problem_bytes"]

logger = logging.getLogger("rnnlab.access")


def problem_bytes(status: int, reason: str, title: str, slug: str, detail: str) -> bytes:
    """A complete HTTP/1.1 problem+json response that closes the connection."""
    body = orjson.dumps(
        {"type": f"urn:rnnlab:problem:{slug}", "title": title, "status": status, "detail": detail}
    )
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "content-type: application/problem+json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode() + body


class GuardedHttpProtocol(HttpToolsProtocol):
    """HttpToolsProtocol plus a header deadline and a cap on open connections."""

    header_timeout: ClassVar[float] = 10.0
    body_timeout: ClassVar[float] = 60.0
    send_timeout: ClassVar[float] = 60.0
    max_connections: ClassVar[int] = 1000

    @classmethod
    def configure(cls, settings: Settings) -> None:
        """Take the limits from ``settings`` (called once per process, before serving)."""
        cls.header_timeout = settings.header_timeout
        cls.body_timeout = settings.body_timeout
        cls.send_timeout = settings.send_timeout
        cls.max_connections = settings.max_connections

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None
        self._body_deadline: asyncio.TimerHandle | None = None
        self._send_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            detail = (
                f"over max_connections={self.max_connections} open connections "
                "(setting RNNLAB_MAX_CONNECTIONS); retry shortly"
            )
            transport.write(
                problem_bytes(503, "Service Unavailable", "Too Many Connections", "busy", detail)
            )
            transport.close()
            return
        self._arm_header_deadline()

    def on_headers_complete(self) -> None:
        self._disarm_header_deadline()
        super().on_headers_complete()
        self._cancel("_body_deadline")  # a pipelined request's: this one starts its own
        self._body_deadline = self.loop.call_later(self.body_timeout, self._body_too_slow)

    def on_message_complete(self) -> None:
        self._cancel("_body_deadline")
        super().on_message_complete()

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._send_deadline is None:
            self._send_deadline = self.loop.call_later(self.send_timeout, self._not_reading)

    def resume_writing(self) -> None:
        self._cancel("_send_deadline")
        super().resume_writing()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_header_deadline()  # the next request on this connection

    def connection_lost(self, exc: Exception | None) -> None:
        for deadline in ("_header_deadline", "_body_deadline", "_send_deadline"):
            self._cancel(deadline)
        super().connection_lost(exc)

    def _cancel(self, deadline: str) -> None:
        timer: asyncio.TimerHandle | None = getattr(self, deadline)
        if timer is not None:
            timer.cancel()
            setattr(self, deadline, None)

    def _body_too_slow(self) -> None:
        self._body_deadline = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_started:
            detail = (
                f"the request body did not arrive within body_timeout={self.body_timeout:g} s "
                "(setting RNNLAB_BODY_TIMEOUT)"
            )
            self.transport.write(
                problem_bytes(408, "Request Timeout", "Request Timeout", "request-timeout", detail)
            )
        self.transport.close()

    def _not_reading(self) -> None:
        self._send_deadline = None
        logger.warning(
            "client stopped reading its response; abandoned after send_timeout=%g s",
            self.send_timeout,
        )
        self.transport.abort()

    def _arm_header_deadline(self) -> None:
        self._disarm_header_deadline()
        self._header_deadline = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm_header_deadline(self) -> None:
        self._cancel("_header_deadline")

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if self.transport.is_closing():
            return
        if self.cycle is None or self.cycle.response_complete:  # no request is being served
            detail = (
                f"the request headers did not arrive within header_timeout="
                f"{self.header_timeout:g} s (setting RNNLAB_HEADER_TIMEOUT)"
            )
            self.transport.write(
                problem_bytes(408, "Request Timeout", "Request Timeout", "request-timeout", detail)
            )
            self.transport.close()
