"""Server-Sent Events: the ``text/event-stream`` of ``GET /jobs/{id}/events``, line by line.

Written here rather than taken from a package because the client depends on httpx and
numpy only, and the format (the WHATWG HTML standard's "event stream interpretation")
is a dozen lines: fields ``event``, ``data``, ``id`` and ``retry``, comment lines that
start with a colon (the server's keep-alive pings), and a blank line that dispatches.
httpx's ``iter_lines``/``aiter_lines`` already split on CR, LF and CRLF.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from dataclasses import dataclass

__all__ = ["Event", "EventParser", "aevents", "events"]


@dataclass(frozen=True)
class Event:
    """One dispatched event: its type (``message`` when unnamed), data and id."""

    event: str
    data: str
    id: str | None = None
    retry: int | None = None


class EventParser:
    """Feed it lines; it returns an ``Event`` at each blank line that ends one."""

    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None
        self._retry: int | None = None

    def feed(self, line: str) -> Event | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None  # a comment: keep-alive
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._id = value
        elif name == "retry" and value.isdigit():
            self._retry = int(value)
        return None  # unknown fields are ignored, as the standard says

    def _dispatch(self) -> Event | None:
        if not self._data:  # no data: nothing to dispatch, only the type is reset
            self._event = ""
            return None
        event = Event(self._event or "message", "\n".join(self._data), self._id, self._retry)
        self._event, self._data, self._retry = "", [], None
        return event  # the last id persists, as in the standard


def events(lines: Iterable[str]) -> Iterator[Event]:
    """The events of a stream of lines (an incomplete last event is dropped)."""
    parser = EventParser()
    for line in lines:
        event = parser.feed(line)
        if event is not None:
            yield event


async def aevents(lines: AsyncIterable[str]) -> AsyncIterator[Event]:
    """``events`` for an asynchronous stream of lines."""
    parser = EventParser()
    async for line in lines:
        event = parser.feed(line)
        if event is not None:
            yield event
