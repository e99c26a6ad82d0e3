"""Conditional GETs for answers that are a pure function of their query.

A figure, a loss surface, a gradient over time or a stored dataset depends on nothing but
its query (a dataset id names its content), so its strong ETag is a hash of the
canonical query and of the version of the code that computes it, and a matching
``If-None-Match`` is answered 304 before anything is computed (RFC 9110 §13.1.2: weak
comparison, ``*`` matches). ``Cache-Control`` lets clients reuse an answer for
``cache_seconds``; ``private`` when a token guards the service, so that no shared cache
hands it to someone without one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from service import __version__
from service.config import Settings

__all__ = ["NOT_MODIFIED", "cached", "etag_of", "not_modified"]

NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: the `If-None-Match` ETag still names the answer."}
}
"""The ``responses=`` entry of a cached route."""


def etag_of(key: dict[str, Any], version: str) -> str:
    """A strong ETag for the answer to ``key`` as computed by code at ``version``."""
    canonical = json.dumps({**key, "version": version}, sort_keys=True, default=str)
    return '"' + hashlib.sha256(canonical.encode()).hexdigest()[:32] + '"'


def not_modified(request: Request, etag: str) -> bool:
    """Whether the client's ``If-None-Match`` already names ``etag``."""
    given = request.headers.get("if-none-match")
    if given is None:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in given.split(",")]
    return "*" in tags or etag in tags


async def cached(
    request: Request,
    settings: Settings,
    key: dict[str, Any],
    produce: Callable[[], Awaitable[Response]],
    *,
    version: str = __version__,
    vary: str | None = None,
) -> Response:
    """304 when the client's copy is current, else what ``produce`` answers; both with
    the ETag and Cache-Control (and ``Vary`` when the representation depends on a header).

    Call it after the checks that can refuse the request (unknown ids, limits), so that a
    304 is never the answer to a request that would fail.
    """
    etag = etag_of(key, version)
    scope = "private" if settings.api_token is not None else "public"
    seconds = settings.cache_seconds
    headers = {
        "ETag": etag,
        "Cache-Control": f"{scope}, max-age={seconds}" if seconds else "no-cache",
    }
    if vary is not None:
        headers["Vary"] = vary
    if not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    response = await produce()
    response.headers.update(headers)
    return response
