"""Long arrays of numbers: validated into float64 row by row, errors in Pydantic's shape."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from service.web.arrays import FloatRows, Floats

ROWS = TypeAdapter(FloatRows)
FLOATS = TypeAdapter(Floats)


def test_rows_become_float64_and_each_list_is_released_as_it_converts() -> None:
    rows: list[Any] = [[0.5, 1], [2.0]]
    converted = ROWS.validate_python(rows)
    assert [r.dtype for r in converted] == [np.float64, np.float64]
    assert [r.tolist() for r in converted] == [[0.5, 1.0], [2.0]]
    assert rows == [None, None]


@pytest.mark.parametrize(
    ("rows", "loc", "kind"),
    [
        ([[0.5], [1.0, True]], (1, 1), "float_type"),
        ([[0.5], ["1"]], (1, 0), "float_type"),
        ([[0.5], [float("nan")]], (1, 0), "finite_number"),
        ([[10**400]], (0, 0), "finite_number"),
        ([[0.5], []], (1,), "too_short"),
        ([], (), "too_short"),
        ([0.5], (0,), "list_type"),
    ],
)
def test_a_bad_row_is_named_by_its_place(rows: list[Any], loc: tuple[int, ...], kind: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ROWS.validate_python(rows)
    (error,) = caught.value.errors()
    assert (error["loc"], error["type"]) == (loc, kind)


def test_long_arrays_are_checked_past_the_first_chunk() -> None:
    values: list[Any] = [0.5] * 200_000
    values[150_001] = float("inf")
    with pytest.raises(ValidationError) as caught:
        FLOATS.validate_python(values)
    assert caught.value.errors()[0]["loc"] == (150_001,)


def test_the_schema_and_the_serialised_form_are_plain_json_arrays() -> None:
    assert ROWS.json_schema()["items"] == {
        "items": {"type": "number"},
        "minItems": 1,
        "type": "array",
    }
    assert ROWS.dump_python([np.array([1.0, 2.5])]) == [[1.0, 2.5]]
    assert FLOATS.dump_json(np.array([0.25])) == b"[0.25]"
