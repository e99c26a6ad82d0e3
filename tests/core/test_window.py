"""core.window: one validated window of weight space, its axes and its points."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from core.errors import InvalidInputError
from core.window import Window


def test_axes_are_numpys_linspace() -> None:
    w = Window(0.1, 0.7, -3.0, 5.0, 7, 5)
    np.testing.assert_array_equal(w.wx, np.linspace(0.1, 0.7, 7))
    np.testing.assert_array_equal(w.wrec, np.linspace(-3.0, 5.0, 5))
    assert w.size == 35


def test_points_vary_wx_fastest_like_the_surfaces_cells() -> None:
    assert Window(-2.0, 2.0, -1.0, 1.0, 3, 2).points.tolist() == [
        [-2.0, -1.0],
        [0.0, -1.0],
        [2.0, -1.0],
        [-2.0, 1.0],
        [0.0, 1.0],
        [2.0, 1.0],
    ]
    w = Window(0.1, 0.7, -3.0, 5.0, 7, 5)
    points = w.points
    assert points.shape == (35, 2)
    for i in range(5):
        for j in range(7):  # row i * nx + j is the cell loss[i, j]
            assert points[i * 7 + j].tolist() == [w.wx[j], w.wrec[i]]


def test_a_single_point_and_an_empty_width() -> None:
    assert Window(1.5, 9.0, -2.0, 3.0, 1, 1).points.tolist() == [[1.5, -2.0]]
    assert Window(1.0, 1.0, 2.0, 2.0, 2, 2).points.tolist() == [[1.0, 2.0]] * 4


def test_from_ranges_takes_min_max_pairs() -> None:
    assert Window.from_ranges((-1.0, 2.0), (0.5, 0.75), 4, 3) == Window(-1.0, 2.0, 0.5, 0.75, 4, 3)


def test_a_window_is_a_frozen_value() -> None:
    w = Window(0.0, 1.0, 0.0, 1.0, 2, 2)
    with pytest.raises(AttributeError):
        w.nx = 3  # type: ignore[misc]
    assert w == Window(0.0, 1.0, 0.0, 1.0, 2, 2)
    assert hash(w) == hash(Window(0.0, 1.0, 0.0, 1.0, 2, 2))


BAD: list[tuple[dict[str, Any], str, str]] = [
    ({"wx_min": float("nan")}, "wx_min", "must be finite"),
    ({"wx_max": float("inf")}, "wx_max", "must be finite"),
    ({"wrec_min": -float("inf")}, "wrec_min", "must be finite"),
    ({"wrec_max": float("nan")}, "wrec_max", "must be finite"),
    ({"wx_min": 2.0, "wx_max": 1.0}, "wx_max", "must be >= wx_min (2.0), got 1.0"),
    ({"wrec_min": 1.0, "wrec_max": 0.5}, "wrec_max", "must be >= wrec_min (1.0), got 0.5"),
    ({"wx_min": -1e308, "wx_max": 1e308}, "wx_max", "wx_max - wx_min must be finite"),
    ({"wrec_min": -1e308, "wrec_max": 1e308}, "wrec_max", "wrec_max - wrec_min must be finite"),
    ({"nx": 0}, "nx", "must be >= 1, got 0"),
    ({"ny": -1}, "ny", "must be >= 1, got -1"),
    ({"nx": 2.5}, "nx", "must be an integer"),
]


@pytest.mark.parametrize(("changes", "field", "message"), BAD)
def test_bad_windows_are_rejected_naming_the_field(
    changes: dict[str, Any], field: str, message: str
) -> None:
    spec: dict[str, Any] = {
        "wx_min": 0.0,
        "wx_max": 1.0,
        "wrec_min": 0.0,
        "wrec_max": 1.0,
        "nx": 2,
        "ny": 2,
    }
    with pytest.raises(InvalidInputError) as info:
        Window(**(spec | changes))
    assert info.value.field == field
    assert message in info.value.message


def test_the_widest_finite_window_is_accepted() -> None:
    w = Window(-8e307, 8e307, 0.0, 0.0, 3, 1)
    assert np.isfinite(w.wx).all()
    assert w.wx.tolist() == [-8e307, 0.0, 8e307]


def test_numpy_integers_are_sizes() -> None:
    assert Window(0.0, 1.0, 0.0, 1.0, np.int64(3), np.int64(2)).size == 6  # type: ignore[arg-type]
