"""Conditional GETs for answers that are a pure function of their query.

A figure, a loss surface or a gradient over time depends on nothing but its query (a
dataset id names its content), so its strong ETag is a hash of the canonical query and of
the version of the code that computes it, and a matching ``If-None-Match`` is answered
304 before anything is computed (RFC 9110 §13.1.2: weak comparison, ``*`` matches).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from starlette.requests import Request

__all__ = ["cache_headers", "etag_of", "not_modified"]


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


def cache_headers(etag: str, max_age: int, private: bool) -> dict[str, str]:
    """ETag and Cache-Control; ``private`` when a token guards the answer (no shared caches)."""
    scope = "private" if private else "public"
    return {
        "ETag": etag,
        "Cache-Control": f"{scope}, max-age={max_age}" if max_age else "no-cache",
    }
