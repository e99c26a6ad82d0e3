"""Response bodies built from NumPy arrays without per-element Python work.

JSON goes through orjson (arrays serialised natively, NaN/Infinity written as ``null``);
``npy`` is ``np.save`` of a float64 array; CSV is derived from orjson's row output. The
format is chosen by a ``format=`` query parameter, else by the ``Accept`` header.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import orjson
from numpy.typing import NDArray
from starlette.responses import Response

__all__ = [
    "CSV_MEDIA_TYPE",
    "JSON_MEDIA_TYPE",
    "NPY_MEDIA_TYPE",
    "Format",
    "choose_format",
    "csv_matrix",
    "finite_or_none",
    "json_bytes",
    "json_response",
    "npy_bytes",
    "tabular_responses",
]

Format = Literal["json", "npy", "csv"]

JSON_MEDIA_TYPE = "application/json"
NPY_MEDIA_TYPE = "application/x-npy"
CSV_MEDIA_TYPE = "text/csv"

_MEDIA_FORMATS: dict[str, Format] = {
    "application/json": "json",
    "application/x-npy": "npy",
    "application/octet-stream": "npy",
    "text/csv": "csv",
}


def json_bytes(content: Any) -> bytes:
    """orjson with NumPy support; non-finite floats (also inside arrays) become null."""
    return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


def json_response(
    content: Any, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON response from plain data and arrays (C-contiguous float64/int64/uint8/bool)."""
    return Response(
        json_bytes(content),
        status_code=status_code,
        media_type=JSON_MEDIA_TYPE,
        headers=dict(headers or {}),
    )


def finite_or_none(value: float) -> float | None:
    """A scalar for JSON: None where it overflowed."""
    return float(value) if np.isfinite(value) else None


def npy_bytes(array: NDArray[Any]) -> bytes:
    """The ``.npy`` file of ``array`` as float64 (loadable with allow_pickle=False).

    Header and data are joined once (np.save into a BytesIO would copy the data twice).
    """
    data = np.ascontiguousarray(array, dtype=np.float64)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, np.lib.format.header_data_from_array_1_0(data))
    return b"".join((header.getvalue(), data.data))  # the header has the magic string


def csv_matrix(
    corner: str,
    columns: NDArray[np.float64],
    rows: NDArray[np.float64],
    values: NDArray[np.float64],
) -> bytes:
    """CSV of a matrix: a header of column values, then one row per row value.

    ``values[i, j]`` belongs to ``rows[i]`` and ``columns[j]``; non-finite cells are empty.
    Numbers are written as shortest round-trip decimals (orjson's float formatting).
    """
    header = json_bytes(np.ascontiguousarray(columns, dtype=np.float64))[1:-1]
    table = np.empty((values.shape[0], values.shape[1] + 1), dtype=np.float64)
    table[:, 0] = rows
    table[:, 1:] = values
    body = json_bytes(table)[2:-2].replace(b"],[", b"\n").replace(b"null", b"")
    return corner.encode() + b"," + header + b"\n" + body + b"\n"


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
