"""The query parameters of the figures: image size, the figure's grid and points, the zoom.

Each is checked against the figure limits of the settings (a picture has its own, smaller
than a JSON surface's), so that an image too large to draw is a 413 naming its setting.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated

from fastapi import Depends, Query

from core.errors import InvalidInputError
from core.window import Window
from service.analysis.params import GridQueryDep
from service.config import Settings
from service.deps import SettingsDep
from service.errors import InvalidInput, LimitExceeded, from_core
from service.figures import drawing
from service.web.models import limited_by

__all__ = [
    "GradientSizeDep",
    "SurfaceSizeDep",
    "ZoomQueryDep",
    "figure_grid",
    "figure_points",
]

_Finite = Annotated[float, Query(allow_inf_nan=False)]


def _image_size(
    default_width: int, default_height: int
) -> Callable[..., Awaitable[drawing.ImageSize]]:
    """A dependency for width/height/dpi with these defaults, checked against the limits."""

    async def size_query(
        settings: SettingsDep,
        width: Annotated[
            int,
            Query(
                ge=100,
                description="Image width in pixels.",
                json_schema_extra=limited_by("figure_max_width"),
            ),
        ] = default_width,
        height: Annotated[
            int,
            Query(
                ge=100,
                description="Image height in pixels.",
                json_schema_extra=limited_by("figure_max_height"),
            ),
        ] = default_height,
        dpi: Annotated[
            int,
            Query(
                ge=10,
                description="Dots per inch (sets text and line sizes).",
                json_schema_extra=limited_by("figure_max_dpi"),
            ),
        ] = 100,
    ) -> drawing.ImageSize:
        for name, value, limit in (
            ("width", width, settings.figure_max_width),
            ("height", height, settings.figure_max_height),
            ("dpi", dpi, settings.figure_max_dpi),
        ):
            if value > limit:
                setting = "figure_max_" + name
                raise LimitExceeded(setting, limit, value, name, ("query", name))
        return drawing.ImageSize(width, height, dpi)

    return size_query


SurfaceSizeDep = Annotated[drawing.ImageSize, Depends(_image_size(1000, 400))]
GradientSizeDep = Annotated[drawing.ImageSize, Depends(_image_size(800, 450))]


def figure_grid(settings: Settings, grid: Window) -> Window:
    """The JSON grid rules, plus what a picture needs: 2..figure_max_resolution, min < max."""
    for name, size in (("nx", grid.nx), ("ny", grid.ny)):
        if size < 2:
            raise InvalidInput(("query", "resolution"), f"a figure needs {name} >= 2")
        if size > settings.figure_max_resolution:
            raise LimitExceeded(
                "figure_max_resolution",
                settings.figure_max_resolution,
                size,
                f"{name} of a figure",
                ("query", "resolution"),
            )
    for name, low, high in (
        ("wx", grid.wx_min, grid.wx_max),
        ("wrec", grid.wrec_min, grid.wrec_max),
    ):
        if not low < high:
            raise InvalidInput(("query", f"{name}_max"), f"must be > {name}_min ({low})")
    return grid


def figure_points(settings: Settings, points: Sequence[tuple[float, float]]) -> None:
    if len(points) > settings.figure_max_points:
        raise LimitExceeded(
            "figure_max_points",
            settings.figure_max_points,
            len(points),
            "points",
            ("query", "points"),
        )


async def zoom_query(
    grid: GridQueryDep,
    zoom: Annotated[bool, Query(description="Draw the zoom panel next to the overview.")] = True,
    zoom_wx_min: Annotated[_Finite, Query(description="Zoom window, left edge.")] = -0.1,
    zoom_wx_max: Annotated[_Finite, Query(description="Zoom window, right edge.")] = 2.1,
    zoom_wrec_min: Annotated[_Finite, Query(description="Zoom window, bottom edge.")] = -0.1,
    zoom_wrec_max: Annotated[_Finite, Query(description="Zoom window, top edge.")] = 2.1,
) -> Window | None:
    """The second panel's window (the tutorial's [-0.1, 2.1] square), or None for no zoom."""
    if not zoom:
        return None
    for name, low, high in (
        ("wx", zoom_wx_min, zoom_wx_max),
        ("wrec", zoom_wrec_min, zoom_wrec_max),
    ):
        if not low < high:
            raise InvalidInput(("query", f"zoom_{name}_max"), f"must be > zoom_{name}_min ({low})")
    try:
        return Window(zoom_wx_min, zoom_wx_max, zoom_wrec_min, zoom_wrec_max, grid.nx, grid.ny)
    except InvalidInputError as exc:
        raise from_core(exc, ("query", "zoom")) from None


ZoomQueryDep = Annotated[Window | None, Depends(zoom_query)]
