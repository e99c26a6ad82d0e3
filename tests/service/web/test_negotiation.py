"""Negotiation: ``format=`` wins, else the Accept header's preference; 406 when nothing fits."""

from __future__ import annotations

import httpx
import pytest

from service.errors import NotAcceptable
from service.web.negotiation import choose_format
from tests.service._api import problem


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


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("method", "path", "accept", "status"),
    [
        ("POST", "/loss", "image/png", 406),
        ("POST", "/loss", "application/json", 200),
        ("POST", "/loss", "*/*", 200),
        ("POST", "/loss", "text/html,application/xhtml+xml,*/*;q=0.8", 200),  # a browser's
        ("GET", "/datasets", "text/csv", 406),
        ("GET", "/figures/loss-surface.png?resolution=10&zoom=false", "application/json", 406),
        ("GET", "/figures/loss-surface.png?resolution=10&zoom=false", "image/*", 200),
        ("GET", "/loss-surface?resolution=4", "image/png", 406),
        ("GET", "/loss-surface?resolution=4", "text/csv", 200),
    ],
)
async def test_every_route_refuses_an_accept_it_cannot_serve(
    client: httpx.AsyncClient, method: str, path: str, accept: str, status: int
) -> None:
    body = {"weights": {"wx": 1, "wrec": 1}} if method == "POST" else None
    answer = await client.request(method, path, json=body, headers={"accept": accept})
    if status == 406:
        assert accept in problem(answer, 406)["detail"]
    else:
        assert answer.status_code == status, answer.text
