"""Which representation a client asked for: ``format=`` first, else the Accept header."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from service.web.encoding import CSV_MEDIA_TYPE, NPY_MEDIA_TYPE, Format

__all__ = ["choose_format", "tabular_responses"]

_MEDIA_FORMATS: dict[str, Format] = {
    "application/json": "json",
    "application/x-npy": "npy",
    "application/octet-stream": "npy",
    "text/csv": "csv",
}


def choose_format(requested: Format | None, accept: str | None) -> Format:
    """``format=`` wins; else the supported media type the Accept header prefers; else JSON."""
    if requested is not None:
        return requested
    best: tuple[float, int, Format] | None = None
    for position, item in enumerate((accept or "").split(",")):
        media, *params = (part.strip() for part in item.split(";"))
        fmt = _MEDIA_FORMATS.get(media.lower())
        if fmt is None:
            continue
        quality = _quality(params)
        if quality > 0 and (best is None or (quality, -position) > (best[0], best[1])):
            best = (quality, -position, fmt)
    return best[2] if best else "json"


def _quality(params: Sequence[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


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
