"""Response encodings: null for non-finite, npy as np.save writes it, CSV, and streaming."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from starlette.responses import Response, StreamingResponse

from service.web.encoding import (
    INLINE_VALUES,
    csv_response,
    finite_or_none,
    json_bytes,
    json_chunks,
    json_response,
    npy_response,
)

pytestmark = pytest.mark.anyio


async def body_of(response: Response) -> bytes:
    if isinstance(response, StreamingResponse):
        return b"".join([bytes(chunk) async for chunk in response.body_iterator])
    return bytes(response.body)


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


@pytest.mark.parametrize("size", [10, 300, 2049])
async def test_a_large_json_answer_is_streamed_and_identical_to_the_one_shot_text(
    size: int,
) -> None:
    rng = np.random.default_rng(size)
    grid = rng.random((size, size))
    grid[::7, ::5] = np.inf
    content = {
        "wx": np.linspace(-3, 3, size),
        "loss": grid,
        "min": {"wx": 1.0, "loss": None},
        "series": [{"grad": rng.random(size * 20), "overflow": False}] * 3,
        'name "quoted"': True,
    }
    response = json_response(content)
    assert isinstance(response, StreamingResponse) == (size * size > INLINE_VALUES)
    assert await body_of(response) == json_bytes(content)


def test_json_chunks_are_bounded_in_size() -> None:
    content = {"loss": np.random.default_rng(0).random((1000, 1000))}
    chunks = list(json_chunks(content))
    assert len(chunks) > 10
    assert max(len(chunk) for chunk in chunks) < 2 * 2**20  # no chunk holds the whole text


@pytest.mark.parametrize("shape", [(2048, 2048), (512, 512), (0, 3), (3, 1), (7,)])
async def test_npy_answers_are_exactly_what_numpy_save_writes(shape: tuple[int, ...]) -> None:
    values = np.asfortranarray(np.random.default_rng(0).random(shape))
    saved = io.BytesIO()
    np.save(saved, np.ascontiguousarray(values), allow_pickle=False)
    response = npy_response(values)
    body = await body_of(response)
    assert body == saved.getvalue()
    assert response.headers["content-length"] == str(len(body))


async def test_npy_is_float64_and_loads_without_pickle() -> None:
    values = np.array([[1, 2, 3], [4, 5, np.inf]], dtype=np.float32)
    loaded = np.load(io.BytesIO(await body_of(npy_response(values))), allow_pickle=False)
    assert loaded.dtype == np.float64
    np.testing.assert_array_equal(loaded, values.astype(np.float64))


async def test_csv_of_a_surface_has_axes_and_empty_cells_for_overflow() -> None:
    columns = np.array([-1.0, 0.5])
    rows = np.array([0.0, 10.0, 20.0])
    values = np.array([[1.0, 0.1], [np.inf, 3e300], [np.nan, -2.0]])
    text = (await body_of(csv_response("wrec/wx", rows, values, columns=columns))).decode()
    table = list(csv.reader(io.StringIO(text)))
    assert table == [
        ["wrec/wx", "-1.0", "0.5"],
        ["0.0", "1.0", "0.1"],
        ["10.0", "", "3e+300"],
        ["20.0", "", "-2.0"],
    ]


async def test_a_long_csv_is_streamed_with_integer_labels() -> None:
    table = np.random.default_rng(1).random((100_000, 3))
    table[5, 2] = np.nan
    response = csv_response("iteration,wx,wrec,loss", np.arange(len(table)), table)
    assert isinstance(response, StreamingResponse)
    rows = list(csv.reader(io.StringIO((await body_of(response)).decode())))
    assert rows[0] == ["iteration", "wx", "wrec", "loss"]
    assert len(rows) == 100_001
    assert rows[6][0] == "5"
    assert rows[6][3] == ""
    np.testing.assert_array_equal(np.array(rows[1:4], dtype=float)[:, 1:], table[:3])
