"""Which representation a client asked for, and a 406 when it takes none on offer.

Routes with several representations (surfaces, trajectories) read ``format=`` first, else
the Accept header (``choose_format``): among equally acceptable types the server prefers
JSON, then npy, then CSV. Every other route has one representation (JSON, an image, an
event stream); ``require_acceptable``, on every route, answers 406 before any work when
the Accept header takes none of them. Accept headers are read by python-mimeparse
(q-values, wildcards, specificity). Error answers are problem+json whatever was asked.
"""

from __future__ import annotations

from typing import Any

import mimeparse
from fastapi import Request
from fastapi.routing import APIRoute

from service.errors import NotAcceptable
from service.web.encoding import CSV_MEDIA_TYPE, JSON_MEDIA_TYPE, NPY_MEDIA_TYPE, Format

__all__ = ["choose_format", "require_acceptable", "tabular_responses"]

_MEDIA_FORMATS: dict[str, Format] = {
    JSON_MEDIA_TYPE: "json",
    NPY_MEDIA_TYPE: "npy",
    "application/octet-stream": "npy",
    CSV_MEDIA_TYPE: "csv",
}
# Least preferred first: on a tie, mimeparse picks the one listed last.
_BY_PREFERENCE = [CSV_MEDIA_TYPE, "application/octet-stream", NPY_MEDIA_TYPE, JSON_MEDIA_TYPE]


def choose_format(requested: Format | None, accept: str | None) -> Format:
    """``format=`` wins; else the best type the Accept header takes; NotAcceptable if none."""
    if requested is not None:
        return requested
    if not accept or not accept.strip():
        return "json"
    best = mimeparse.best_match(_BY_PREFERENCE, accept)
    if not best:
        offered = ", ".join(sorted(set(_MEDIA_FORMATS)))
        raise NotAcceptable(
            f"Accept: {accept[:200]} takes none of what this endpoint offers ({offered}); "
            "or ask with format=json|npy|csv"
        )
    return _MEDIA_FORMATS[best]


def tabular_responses(
    description: str, *, flags_overflow: bool = False
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entry declaring the npy and CSV alternatives of a 200 (and the
    ``X-Overflow`` header, for answers whose npy and CSV forms cannot carry the flag)."""
    headers = {"X-Overflow": {"$ref": "#/components/headers/X-Overflow"}} if flags_overflow else {}
    return {
        200: {
            "description": description,
            "headers": headers,
            "content": {
                NPY_MEDIA_TYPE: {
                    "schema": {"type": "string", "format": "binary"},
                    "example": "(binary .npy file, float64)",
                },
                CSV_MEDIA_TYPE: {"schema": {"type": "string"}},
            },
        }
    }


def _offered(route: APIRoute) -> list[str]:
    """The media types of the route's successful answers, as its OpenAPI entry lists them."""
    offered = {
        media_type
        for status, response in route.responses.items()
        if str(status).startswith("2")
        for media_type in response.get("content", {})
    }
    if route.response_model is not None:
        offered.add(JSON_MEDIA_TYPE)
    return sorted(offered)


def _negotiates_itself(route: APIRoute) -> bool:
    return any(param.alias.lower() == "accept" for param in route.dependant.header_params)


async def require_acceptable(request: Request) -> None:
    """406 when the Accept header takes none of what the route answers."""
    accept = request.headers.get("accept", "").strip()
    route = request.scope.get("route")
    if not accept or not isinstance(route, APIRoute) or _negotiates_itself(route):
        return
    offered = _offered(route)
    if offered and not mimeparse.best_match(offered, accept):
        raise NotAcceptable(
            f"Accept: {accept[:200]} takes none of what this endpoint offers ({', '.join(offered)})"
        )
