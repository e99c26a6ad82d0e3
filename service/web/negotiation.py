"""Which representation a client asked for: ``format=`` first, else the Accept header.

The Accept header is read by python-mimeparse (q-values, wildcards, specificity); among
equally acceptable types the server prefers JSON, then npy, then CSV. When the header
accepts none of them the answer is a 406 that lists what the endpoint offers.
"""

from __future__ import annotations

from typing import Any

import mimeparse

from service.errors import NotAcceptable
from service.web.encoding import CSV_MEDIA_TYPE, JSON_MEDIA_TYPE, NPY_MEDIA_TYPE, Format

__all__ = ["choose_format", "tabular_responses"]

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


def tabular_responses(description: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entry declaring the npy and CSV alternatives of a 200."""
    return {
        200: {
            "description": description,
            "content": {
                NPY_MEDIA_TYPE: {
                    "schema": {"type": "string", "format": "binary"},
                    "example": "(binary .npy file, float64)",
                },
                CSV_MEDIA_TYPE: {"schema": {"type": "string"}},
            },
        }
    }
