"""Format negotiation: ``format=`` wins, else the Accept header's preference, else JSON."""

from __future__ import annotations

import pytest

from service.errors import NotAcceptable
from service.web.negotiation import choose_format


@pytest.mark.parametrize(
    ("requested", "accept", "expected"),
    [
        (None, None, "json"),
        (None, "*/*", "json"),
        (None, "text/csv", "csv"),
        (None, "application/x-npy", "npy"),
        (None, "application/octet-stream", "npy"),
        (None, "text/csv;q=0.5, application/x-npy", "npy"),
        (None, "text/csv, application/x-npy", "npy"),  # equal q: the server's preference
        (None, "application/*", "json"),
        (None, "application/x-npy;q=0, text/csv;q=0.1", "csv"),
        ("json", "text/csv", "json"),
        ("npy", None, "npy"),
    ],
)
def test_choose_format(requested: str | None, accept: str | None, expected: str) -> None:
    assert choose_format(requested, accept) == expected  # type: ignore[arg-type]


def test_an_accept_header_that_takes_nothing_offered_is_406() -> None:
    with pytest.raises(NotAcceptable, match="image/png"):
        choose_format(None, "image/png")
