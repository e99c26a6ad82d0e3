"""JSON request bodies read and parsed without holding up the event loop.

FastAPI parses a JSON body with ``json.loads`` and validates it on the event loop, so a
40 MB upload used to stall every other request (``/health`` included) for seconds. Routes
of a router built with ``route_class=BodyRoute`` instead:

- count the commas of the body while it arrives and refuse it (413) as soon as it holds
  more numbers than ``max_body_numbers``, before anything is parsed;
- parse and validate a small body on the loop (microseconds), and a large one in a worker
  thread, fed to an incremental parser 16 KiB at a time so that the thread gives the
  interpreter lock back between pieces;
- keep Python's cyclic garbage collector paused while a large body is parsed: a full
  collection would traverse every parsed number while holding the lock (~150 ms per
  10 million), and parsed JSON holds no reference cycles for it to find;
- count every body's bytes, and a large body's parsed numbers (``PARSED_NUMBER_BYTES``
  each), against ``max_body_memory`` until its request ends: beyond it, a 503 at once,
  so that uploads in flight never take more memory than that.

The long arrays of numbers such bodies hold are validated by ``service.web.arrays``.
"""

from __future__ import annotations

import gc
import json
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

import anyio.to_thread
import ijson
from fastapi import HTTPException
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from service.errors import BackendUnavailable, LimitExceeded
from service.web.context import on_request_end

__all__ = [
    "BodyBudget",
    "BodyInvalid",
    "BodyRejected",
    "BodyRoute",
    "parse_json",
]

LARGE_BODY = 1 << 18  # bytes; below this a body is parsed on the loop (well under 1 ms)
PARSED_NUMBER_BYTES = 48  # a parsed number: a float (24), its list slot (8), float64 (8), slack
_PIECE = 1 << 14  # bytes handed to the incremental parser at a time


class BodyInvalid(HTTPException):
    """The body is not JSON, or not a valid request: a 422 listing pydantic-style errors.

    HTTPExceptions are the only errors FastAPI lets escape its body-reading step, so both
    this and ``BodyRejected`` are HTTPExceptions that ``service.web.problems`` unwraps.
    """

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(status_code=422, detail="invalid request body")
        self.errors = errors


class BodyRejected(HTTPException):
    """The body is over a limit before it is parsed; carries the service's own error."""

    def __init__(self, error: LimitExceeded | BackendUnavailable) -> None:
        super().__init__(status_code=error.status, detail=error.detail)
        self.error = error


def _decode_error(message: str) -> BodyInvalid:
    error = {"loc": ("body",), "msg": f"JSON decode error: {message}", "type": "json_invalid"}
    return BodyInvalid([error])


class BodyBudget:
    """The limits of request bodies: their numbers (``max_numbers``, counted as commas), and
    the bytes of bodies (and of their parsed numbers) the process holds at once.

    Reservations are synchronous (taken on the event loop, no await in between), so
    simultaneous uploads cannot all slip under the limit; each is given back when its
    request ends (``service.web.context``).
    """

    def __init__(self, limit: int, max_numbers: int) -> None:
        self.limit = limit
        self.max_numbers = max_numbers
        self.held = 0

    def reserve(self, scope: Scope, size: int) -> None:
        """Hold ``size`` more bytes for this request, or BodyRejected (503) when over."""
        if self.held + size > self.limit:
            raise BodyRejected(
                BackendUnavailable(
                    f"uploads in progress hold {self.held} bytes of max_body_memory="
                    f"{self.limit} (setting RNNLAB_MAX_BODY_MEMORY); retry shortly",
                    retry_after=2,
                )
            )
        self.held += size
        on_request_end(scope, lambda: self._give_back(size))

    def _give_back(self, size: int) -> None:
        self.held -= size


class _Sink:
    """Receives the one item the incremental parser builds: the whole document."""

    value: Any = None

    def send(self, value: Any) -> None:
        self.value = value


_pause_lock = threading.Lock()
_pauses = 0
_was_enabled = False


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Suspend cyclic garbage collection while any large body is being parsed."""
    global _pauses, _was_enabled
    with _pause_lock:
        if _pauses == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses -= 1
            if _pauses == 0 and _was_enabled:
                gc.enable()


def parse_json(body: bytes) -> Any:
    """The document in ``body``; BodyInvalid when it is not JSON.

    A small body goes through the standard library, which reads NaN, Infinity and 1e400 as
    numbers so that validation can say exactly which field holds one; the incremental
    parser of large bodies refuses them outright.
    """
    if len(body) < LARGE_BODY:
        try:
            return json.loads(body)
        except json.JSONDecodeError as exc:
            raise _decode_error(f"{exc.msg} at position {exc.pos}") from None
        except UnicodeDecodeError:
            raise _decode_error("the body is not UTF-8 text") from None
        except RecursionError:
            raise _decode_error("the body is nested too deeply") from None
        except ValueError as exc:  # e.g. an integer of more than 4300 digits
            raise _decode_error(str(exc).split(";")[0]) from None
    sink = _Sink()
    parser = ijson.items_coro(sink, "", use_float=True)
    try:
        for start in range(0, len(body), _PIECE):
            parser.send(body[start : start + _PIECE])
        parser.close()
    except ijson.JSONError as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else "invalid JSON"
        raise _decode_error(first_line) from None
    return sink.value


def _validator(route: APIRoute) -> Callable[[Any], Any]:
    """Validate a parsed body against ``route``'s body model (in whatever thread runs it)."""
    field = route.body_field
    assert field is not None

    def validate(document: Any) -> Any:
        value, errors = field.validate(document, {}, loc=("body",))
        if errors:
            raise BodyInvalid(list(errors))
        return value

    return validate


class _BodyRequest(Request):
    """A request whose JSON body is counted as it arrives and parsed off the loop if large."""

    def __init__(self, request: Request, validate: Callable[[Any], Any]) -> None:
        super().__init__(request.scope, request.receive)
        self._validate = validate

    async def body(self) -> bytes:
        if not hasattr(self, "_body"):
            budget: BodyBudget = self.app.state.rnnlab.body_budget
            limit = budget.max_numbers
            chunks: list[bytes] = []
            commas = 0
            async for chunk in self.stream():
                budget.reserve(self.scope, len(chunk))
                commas += chunk.count(b",")
                if commas >= limit:
                    what = "the numbers in the JSON body (at least)"
                    raise BodyRejected(
                        LimitExceeded("max_body_numbers", limit, commas + 1, what, ("body",))
                    )
                chunks.append(chunk)
            self._body = b"".join(chunks)
            self._commas = commas
        return self._body

    async def json(self) -> Any:
        """The parsed body: small ones as JSON for FastAPI to validate, large ones validated.

        A large body comes back as the validated model, which FastAPI's own validation
        then accepts as it is.
        """
        if not hasattr(self, "_json"):
            body = await self.body()
            if len(body) < LARGE_BODY:
                self._json = parse_json(body)
            else:
                budget: BodyBudget = self.app.state.rnnlab.body_budget
                budget.reserve(self.scope, (self._commas + 1) * PARSED_NUMBER_BYTES)
                self._json = await anyio.to_thread.run_sync(self._parse_large, body)
        return self._json

    def _parse_large(self, body: bytes) -> Any:
        with _collector_paused():
            return self._validate(parse_json(body))


class BodyRoute(APIRoute):
    """An APIRoute whose JSON body is read by ``_BodyRequest`` (the rest is FastAPI's)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler
        validate = _validator(self)

        async def body_route_handler(request: Request) -> Response:
            return await handler(_BodyRequest(request, validate))

        return body_route_handler
