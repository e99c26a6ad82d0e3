"""Response encodings: orjson with null for non-finite, npy, CSV, and format negotiation."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from service.encoding import choose_format, csv_matrix, finite_or_none, json_bytes, npy_bytes


def test_json_bytes_writes_non_finite_as_null_also_inside_arrays() -> None:
    content = {
        "grid": np.array([[1.5, np.nan], [np.inf, -np.inf]]),
        "scalar": np.float64("nan"),
        "ints": np.arange(3, dtype=np.int64),
        "bits": np.array([0, 1], dtype=np.uint8),
    }
    assert json.loads(json_bytes(content)) == {
        "grid": [[1.5, None], [None, None]],
        "scalar": None,
        "ints": [0, 1, 2],
        "bits": [0, 1],
    }


def test_json_bytes_keeps_doubles_exact() -> None:
    values = np.array([0.1, 1 / 3, 2.0**-1074, 1.7976931348623157e308])
    assert json.loads(json_bytes(values)) == values.tolist()


def test_finite_or_none() -> None:
    assert finite_or_none(2.5) == 2.5
    assert finite_or_none(float("inf")) is None
    assert finite_or_none(float("nan")) is None


def test_npy_bytes_round_trips_as_float64_without_pickle() -> None:
    values = np.array([[1, 2, 3], [4, 5, np.inf]], dtype=np.float32)
    loaded = np.load(io.BytesIO(npy_bytes(values)), allow_pickle=False)
    assert loaded.dtype == np.float64
    np.testing.assert_array_equal(loaded, values.astype(np.float64))


@pytest.mark.parametrize("shape", [(512, 512), (0, 3), (3, 1), (7,)])
def test_npy_bytes_are_exactly_what_numpy_save_writes(shape: tuple[int, ...]) -> None:
    values = np.asfortranarray(np.random.default_rng(0).random(shape))
    saved = io.BytesIO()
    np.save(saved, np.ascontiguousarray(values), allow_pickle=False)
    assert npy_bytes(values) == saved.getvalue()


def test_csv_matrix_has_axes_and_empty_cells_for_overflow() -> None:
    columns = np.array([-1.0, 0.5])
    rows = np.array([0.0, 10.0, 20.0])
    values = np.array([[1.0, 0.1], [np.inf, 3e300], [np.nan, -2.0]])
    table = list(csv.reader(io.StringIO(csv_matrix("wrec/wx", columns, rows, values).decode())))
    assert table == [
        ["wrec/wx", "-1.0", "0.5"],
        ["0.0", "1.0", "0.1"],
        ["10.0", "", "3e+300"],
        ["20.0", "", "-2.0"],
    ]
    assert float(table[2][2]) == 3e300


@pytest.mark.parametrize(
    ("requested", "accept", "expected"),
    [
        (None, None, "json"),
        (None, "*/*", "json"),
        (None, "text/csv", "csv"),
        (None, "application/x-npy", "npy"),
        (None, "application/octet-stream", "npy"),
        (None, "text/csv;q=0.5, application/x-npy", "npy"),
        (None, "text/csv, application/x-npy", "csv"),
        (None, "application/x-npy;q=0, text/csv;q=0.1", "csv"),
        (None, "image/png", "json"),
        ("json", "text/csv", "json"),
        ("npy", None, "npy"),
    ],
)
def test_choose_format(requested: str | None, accept: str | None, expected: str) -> None:
    assert choose_format(requested, accept) == expected  # type: ignore[arg-type]
