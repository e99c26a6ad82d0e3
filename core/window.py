"""A window of weight space sampled on an evenly spaced grid, validated in one place.

Loss surfaces and grids of starting points share it, so a window means the same points
and is rejected with the same errors wherever it is used.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from core.errors import InvalidInputError

__all__ = ["Window"]


@dataclass(frozen=True)
class Window:
    """The nx x ny evenly spaced points of [wx_min, wx_max] x [wrec_min, wrec_max].

    Errors name the field as a client spells it: edges must be finite, min <= max, the
    width max - min finite too (np.linspace's step would be NaN), and nx, ny >= 1.
    """

    wx_min: float
    wx_max: float
    wrec_min: float
    wrec_max: float
    nx: int
    ny: int

    def __post_init__(self) -> None:
        _check_axis("wx", self.wx_min, self.wx_max)
        _check_axis("wrec", self.wrec_min, self.wrec_max)
        _check_size("nx", self.nx)
        _check_size("ny", self.ny)

    @classmethod
    def from_ranges(
        cls, wx_range: tuple[float, float], wrec_range: tuple[float, float], nx: int, ny: int
    ) -> Window:
        """The window of (min, max) pairs, the way loss_surface and grid_starts take it."""
        return cls(wx_range[0], wx_range[1], wrec_range[0], wrec_range[1], nx, ny)

    @property
    def wx(self) -> NDArray[np.float64]:
        """The nx values of wx, from wx_min to wx_max."""
        return np.linspace(self.wx_min, self.wx_max, self.nx)

    @property
    def wrec(self) -> NDArray[np.float64]:
        """The ny values of wrec, from wrec_min to wrec_max."""
        return np.linspace(self.wrec_min, self.wrec_max, self.ny)

    @property
    def size(self) -> int:
        """Number of points, nx * ny."""
        return self.nx * self.ny

    @property
    def points(self) -> NDArray[np.float64]:
        """Every point as a (nx * ny, 2) array of (wx, wrec), wx varying fastest.

        Row i * nx + j is (wx[j], wrec[i]): the cell loss[i, j] of the loss surface on
        the same window, so results over the points line up with the surface.
        """
        wx, wrec = np.meshgrid(self.wx, self.wrec)
        return np.column_stack([wx.ravel(), wrec.ravel()])


def _check_axis(axis: str, low: float, high: float) -> None:
    for edge, value in (("min", low), ("max", high)):
        if not math.isfinite(value):
            raise InvalidInputError(f"{axis}_{edge}", f"must be finite, got {value}")
    if low > high:
        raise InvalidInputError(f"{axis}_max", f"must be >= {axis}_min ({low}), got {high}")
    with np.errstate(over="ignore"):
        width = np.float64(high) - np.float64(low)
    if not np.isfinite(width):
        raise InvalidInputError(
            f"{axis}_max", f"{axis}_max - {axis}_min must be finite, got {high} - {low}"
        )


def _check_size(name: str, size: int) -> None:
    try:
        count = operator.index(size)
    except TypeError:
        raise InvalidInputError(name, f"must be an integer, got {size!r}") from None
    if count < 1:
        raise InvalidInputError(name, f"must be >= 1, got {count}")
