"""Long JSON arrays of numbers validated into NumPy arrays a piece at a time.

Pydantic would validate ``list[list[float]]`` into Python floats (24 bytes each plus the
list slot) and keep them until the request ends. ``FloatRows`` and ``Floats`` convert each
row into float64 as they go and drop its Python list at once, so neither validation nor
deallocation is one long uninterruptible step and a large upload's peak memory is the
parsed document plus one row. Errors keep Pydantic's shape (type, loc, message), so they
reach the client as the same 422 as any other validation error.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import numpy as np
from numpy.typing import NDArray
from pydantic import Field, PlainSerializer, PlainValidator, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

__all__ = ["FloatRows", "Floats"]

_CHUNK = 1 << 16  # numbers converted to float64 at a time


def _number_error(loc: tuple[int | str, ...], value: Any) -> ValidationError:
    kind, message = (
        ("finite_number", "Input should be a finite number")
        if isinstance(value, float)
        else ("float_type", "Input should be a valid number")
    )
    return ValidationError.from_exception_data(
        "numbers",
        [InitErrorDetails(type=PydanticCustomError(kind, message), loc=loc, input=value)],
    )


def _to_floats(values: Any, loc: tuple[int | str, ...] = ()) -> NDArray[np.float64]:
    """A JSON array of finite numbers (not booleans, not strings) as float64."""
    if not isinstance(values, list):
        raise ValidationError.from_exception_data(
            "numbers", [InitErrorDetails(type="list_type", loc=loc, input=values)]
        )
    out = np.empty(len(values), dtype=np.float64)
    for start in range(0, len(values), _CHUNK):
        piece = values[start : start + _CHUNK]
        if not {type(v) for v in piece} <= {int, float}:
            k = next(i for i, v in enumerate(piece) if type(v) not in (int, float))
            raise _number_error((*loc, start + k), piece[k])
        try:
            out[start : start + len(piece)] = piece
        except OverflowError:  # an int beyond the double range
            k = next(i for i, v in enumerate(piece) if abs(v) > sys.float_info.max)
            raise _number_error((*loc, start + k), float("inf")) from None
    bad = ~np.isfinite(out)
    if bad.any():
        k = int(np.argmax(bad))
        raise _number_error((*loc, k), float(out[k]))
    return out


def _too_short(loc: tuple[int | str, ...], value: Any) -> ValidationError:
    ctx = {"field_type": "List", "min_length": 1, "actual_length": 0}
    return ValidationError.from_exception_data(
        "rows", [InitErrorDetails(type="too_short", loc=loc, input=value, ctx=ctx)]
    )


def _rows(values: Any) -> list[NDArray[np.float64]]:
    """A non-empty JSON array of non-empty arrays of finite numbers, one float64 row each.

    Each row's list is dropped from ``values`` once converted, so its numbers are freed
    row by row rather than all at once at the end of the request.
    """
    if not isinstance(values, list):
        raise ValidationError.from_exception_data(
            "rows", [InitErrorDetails(type="list_type", loc=(), input=values)]
        )
    if not values:
        raise _too_short((), values)
    rows: list[NDArray[np.float64]] = []
    for i, row in enumerate(values):
        if isinstance(row, np.ndarray):  # already validated (a model built in Python)
            rows.append(row)
            continue
        array = _to_floats(row, (i,))
        if array.size == 0:
            raise _too_short((i,), row)
        rows.append(array)
        values[i] = None
    return rows


def _floats(values: Any) -> NDArray[np.float64]:
    if isinstance(values, np.ndarray):
        return values
    return _to_floats(values)


_Row = Annotated[list[float], Field(min_length=1)]

FloatRows = Annotated[
    list[NDArray[np.float64]],
    PlainValidator(_rows, json_schema_input_type=list[_Row]),
    PlainSerializer(lambda rows: [row.tolist() for row in rows], return_type=list[list[float]]),
]
"""Non-empty rows of finite numbers (a JSON array of arrays), validated into float64 rows."""

Floats = Annotated[
    NDArray[np.float64],
    PlainValidator(_floats, json_schema_input_type=list[float]),
    PlainSerializer(lambda values: values.tolist(), return_type=list[float]),
]
"""Finite numbers (a JSON array), validated into one float64 array."""
