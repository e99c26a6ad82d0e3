"""Response bodies from NumPy arrays: JSON, npy and CSV, streamed when they are large.

Small answers are encoded at once (orjson writes arrays natively, NaN and Infinity as
``null``). A large one is a stream produced piece by piece in a worker thread: no single
encoding step holds the interpreter lock for long (``/health`` stays prompt while a
2048 x 2048 surface is sent), and memory holds the result plus one piece, not the whole
text as well. npy streams the array's own buffer; CSV writes non-finite cells empty.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from typing import Any, Literal

import numpy as np
import orjson
from numpy.typing import NDArray
from starlette.responses import Response, StreamingResponse

__all__ = [
    "CSV_MEDIA_TYPE",
    "JSON_MEDIA_TYPE",
    "NPY_MEDIA_TYPE",
    "Format",
    "csv_response",
    "finite_or_none",
    "json_bytes",
    "json_chunks",
    "json_response",
    "npy_response",
]

Format = Literal["json", "npy", "csv"]

JSON_MEDIA_TYPE = "application/json"
NPY_MEDIA_TYPE = "application/x-npy"
CSV_MEDIA_TYPE = "text/csv"

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY
INLINE_VALUES = 8192  # numbers in an answer encoded at once (well under a millisecond)
_PIECE_VALUES = 1 << 15  # numbers encoded per step of a stream (about a millisecond)
_CHUNK_BYTES = 1 << 16  # bytes per chunk sent
_NPY_CHUNK = 1 << 20


def finite_or_none(value: float) -> float | None:
    """A scalar for JSON: None where it overflowed (JSON has no token for inf or NaN)."""
    number = float(value)
    return number if np.isfinite(number) else None


def json_bytes(content: Any) -> bytes:
    """orjson with NumPy support; non-finite floats (also inside arrays) become null."""
    return orjson.dumps(content, option=_OPTIONS)


def _values(content: Any, enough: int) -> int:
    """How many numbers ``content`` holds, counting no further than ``enough``."""
    if isinstance(content, np.ndarray):
        return int(content.size)
    if isinstance(content, Mapping):
        content = list(content.values())
    if isinstance(content, list | tuple):
        total = 0
        for item in content:
            nested = isinstance(item, Mapping | list | tuple | np.ndarray)
            total += _values(item, enough - total) if nested else 1
            if total > enough:
                break
        return total
    return 1


def _pieces(content: Any) -> Iterator[bytes]:
    """The JSON text of ``content`` in pieces of at most about ``_PIECE_VALUES`` numbers."""
    if isinstance(content, Mapping):
        yield b"{"
        for i, (key, value) in enumerate(content.items()):
            yield (b"," if i else b"") + orjson.dumps(key) + b":"
            yield from _pieces(value)
        yield b"}"
    elif isinstance(content, np.ndarray) and content.size > _PIECE_VALUES and content.ndim:
        per_row = max(1, content.size // max(1, len(content)))
        rows = max(1, _PIECE_VALUES // per_row)
        yield b"["
        for start in range(0, len(content), rows):
            piece = json_bytes(np.ascontiguousarray(content[start : start + rows]))[1:-1]
            yield piece if start == 0 else b"," + piece
        yield b"]"
    elif isinstance(content, list | tuple) and _values(content, _PIECE_VALUES) > _PIECE_VALUES:
        yield b"["
        for i, item in enumerate(content):
            if i:
                yield b","
            yield from _pieces(item)
        yield b"]"
    else:
        yield orjson.dumps(content, option=_OPTIONS)


def json_chunks(content: Any) -> Iterator[bytes]:
    """The JSON text of ``content`` as chunks of about 64 KiB (keys must be plain strings)."""
    buffer = bytearray()
    for piece in _pieces(content):
        buffer += piece
        if len(buffer) >= _CHUNK_BYTES:
            yield bytes(buffer)
            buffer.clear()
    if buffer:
        yield bytes(buffer)


def json_response(
    content: Any, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON answer from plain data and arrays: encoded now if small, else streamed."""
    if _values(content, INLINE_VALUES) <= INLINE_VALUES:
        return Response(
            json_bytes(content),
            status_code=status_code,
            media_type=JSON_MEDIA_TYPE,
            headers=dict(headers or {}),
        )
    return StreamingResponse(
        json_chunks(content),
        status_code=status_code,
        media_type=JSON_MEDIA_TYPE,
        headers=dict(headers or {}),
    )


def _npy_header(data: NDArray[Any]) -> bytes:
    """The .npy header (magic string included) that ``np.save`` writes for ``data``."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, np.lib.format.header_data_from_array_1_0(data))
    return buffer.getvalue()


def npy_response(array: NDArray[Any], headers: Mapping[str, str] | None = None) -> Response:
    """The ``.npy`` file of ``array`` as float64 (loadable with allow_pickle=False)."""
    data = np.ascontiguousarray(array, dtype="<f8")
    header = _npy_header(data)
    view = data.reshape(-1).view(np.uint8).data
    all_headers = {**(headers or {}), "Content-Length": str(len(header) + len(view))}
    if len(view) <= _NPY_CHUNK:
        return Response(
            header + view.tobytes(), media_type=NPY_MEDIA_TYPE, headers=dict(headers or {})
        )

    def chunks() -> Iterator[bytes | memoryview]:
        yield header
        for start in range(0, len(view), _NPY_CHUNK):
            yield view[start : start + _NPY_CHUNK]

    return StreamingResponse(chunks(), media_type=NPY_MEDIA_TYPE, headers=all_headers)


def _numbers(values: NDArray[Any]) -> list[bytes]:
    """Each number as text (integers as integers), non-finite ones empty."""
    dtype = np.int64 if np.issubdtype(values.dtype, np.integer) else np.float64
    text = json_bytes(np.ascontiguousarray(values, dtype=dtype)).replace(b"null", b"")
    return text[1:-1].split(b",") if values.size else []


def _csv_lines(labels: NDArray[Any], values: NDArray[np.float64]) -> bytes:
    """``label,v,v,...`` lines; numbers as shortest round-trip decimals, non-finite empty."""
    rows = json_bytes(np.ascontiguousarray(values, dtype=np.float64)).replace(b"null", b"")
    cells = rows[2:-2].split(b"],[") if values.size else [b""] * len(labels)
    return b"".join(
        label + b"," + row + b"\n" for label, row in zip(_numbers(labels), cells, strict=True)
    )


def csv_response(
    head: str,
    labels: NDArray[Any],
    values: NDArray[np.float64],
    *,
    columns: NDArray[np.float64] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """CSV: the header line, then ``labels[i]`` and the row ``values[i]`` per line.

    A surface's header is ``wrec/wx`` and the wx values (``columns``), its labels the
    wrec values; a trajectory's header names its columns and its labels are iterations.
    Large tables are streamed a piece at a time.
    """
    first = head.encode()
    if columns is not None:
        first += b"," + b",".join(_numbers(columns))
    width = values.shape[1] if values.ndim == 2 else 1
    rows = max(1, _PIECE_VALUES // max(1, width))

    def chunks() -> Iterator[bytes]:
        yield first + b"\n"
        for start in range(0, len(labels), rows):
            yield _csv_lines(labels[start : start + rows], values[start : start + rows])

    if labels.size * width <= INLINE_VALUES:
        return Response(b"".join(chunks()), media_type=CSV_MEDIA_TYPE, headers=dict(headers or {}))
    return StreamingResponse(chunks(), media_type=CSV_MEDIA_TYPE, headers=dict(headers or {}))
