"""The event-stream reader: fields, multi-line data, comments, and what is not an event."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from rnnlab_client._sse import Event, EventParser, aevents, events

# What GET /jobs/{id}/events sends (FastAPI's format, with a keep-alive ping between).
STREAM = [
    "event: progress",
    'data: {"id": "j", "status": "running"}',
    "id: 0",
    "",
    ": ping",
    "",
    "event: done",
    'data: {"id": "j",',
    'data: "status": "succeeded"}',
    "id: done",
    "",
]


def test_events_are_dispatched_at_blank_lines_with_their_fields() -> None:
    assert list(events(STREAM)) == [
        Event("progress", '{"id": "j", "status": "running"}', "0"),
        Event("done", '{"id": "j",\n"status": "succeeded"}', "done"),
    ]


def test_unnamed_events_are_messages_and_the_space_after_the_colon_is_optional() -> None:
    assert list(events(["data:x", "", "data:  y", ""])) == [
        Event("message", "x"),
        Event("message", " y"),
    ]


def test_comments_unknown_fields_and_data_less_blocks_dispatch_nothing() -> None:
    parser = EventParser()
    assert [parser.feed(line) for line in [": ping", "", "event: lonely", "", "foo: bar"]] == [
        None
    ] * 5
    assert parser.feed("data: after") is None
    assert parser.feed("") == Event("message", "after")  # the lonely type was reset


def test_the_last_id_persists_and_retry_is_read() -> None:
    parsed = list(events(["id: 7", "retry: 1500", "data: a", "", "data: b", ""]))
    assert parsed == [Event("message", "a", "7", 1500), Event("message", "b", "7", None)]


def test_an_incomplete_last_event_is_dropped() -> None:
    assert list(events(["event: done", "data: {}"])) == []


@pytest.mark.anyio
async def test_the_asynchronous_reader_gives_the_same_events() -> None:
    async def lines() -> AsyncIterator[str]:
        for line in STREAM:
            yield line

    assert [event async for event in aevents(lines())] == list(events(STREAM))
