"""Query-string parameters shared by GET endpoints: dataset, grid window and points.

The GET endpoints (loss surface, gradient over time, and the figures) take a dataset as
``dataset_id=`` or as the fields of a generation spec, a window of weight space, and
points as ``wx:wrec`` pairs. Each is one dependency, so every route parses them alike.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Depends, Query
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from core.errors import InvalidInputError
from core.surface import TUTORIAL_POINTS
from core.window import Window
from service.datasets.schemas import MAX_SAFE_INTEGER, DatasetRef, DatasetSpec
from service.deps import SettingsDep
from service.errors import InvalidInput, LimitExceeded, from_core
from service.web.models import limited_by

__all__ = [
    "DatasetQueryDep",
    "GridQueryDep",
    "PointsQueryDep",
    "dataset_query",
    "grid_query",
    "parse_points",
    "points_query",
]

_Finite = Annotated[float, Query(allow_inf_nan=False)]


async def dataset_query(
    dataset_id: Annotated[
        str | None,
        Query(min_length=1, max_length=64, description="A stored dataset (or the spec fields)."),
    ] = None,
    n_samples: Annotated[
        int | None,
        Query(
            ge=1,
            description="Spec: number of sequences.",
            json_schema_extra=limited_by("max_samples"),
        ),
    ] = None,
    length: Annotated[
        int | None,
        Query(
            ge=1,
            description="Spec: steps per sequence.",
            json_schema_extra=limited_by("max_length"),
        ),
    ] = None,
    min_length: Annotated[
        int | None,
        Query(
            ge=1, description="Spec: shortest sequence.", json_schema_extra=limited_by("max_length")
        ),
    ] = None,
    max_length: Annotated[
        int | None,
        Query(
            ge=1, description="Spec: longest sequence.", json_schema_extra=limited_by("max_length")
        ),
    ] = None,
    seed: Annotated[int | None, Query(ge=0, le=MAX_SAFE_INTEGER, description="Spec: seed.")] = None,
    p_one: Annotated[
        float | None, Query(gt=0.0, lt=1.0, allow_inf_nan=False, description="Spec: P(one).")
    ] = None,
    generator: Annotated[
        Literal["pcg64", "legacy"] | None, Query(description="Spec: random generator.")
    ] = None,
) -> DatasetRef:
    """A dataset reference from the query: an id, spec fields, or nothing (the tutorial)."""
    fields: dict[str, Any] = {
        name: value
        for name, value in (
            ("n_samples", n_samples),
            ("length", length),
            ("min_length", min_length),
            ("max_length", max_length),
            ("seed", seed),
            ("p_one", p_one),
            ("generator", generator),
        )
        if value is not None
    }
    if dataset_id is not None:
        if fields:
            raise InvalidInput(("query", "dataset_id"), "give dataset_id or spec fields, not both")
        return DatasetRef(dataset_id=dataset_id)
    if not fields:
        return DatasetRef()
    if "n_samples" not in fields:
        raise InvalidInput(("query", "n_samples"), "required when other spec fields are given")
    try:
        return DatasetRef(dataset=DatasetSpec.model_validate(fields))
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("query", *error["loc"])} for error in exc.errors()]
        ) from exc


DatasetQueryDep = Annotated[DatasetRef, Depends(dataset_query)]


async def grid_query(
    settings: SettingsDep,
    wx_min: Annotated[_Finite, Query(description="Left edge of the window.")] = -3.0,
    wx_max: Annotated[_Finite, Query(description="Right edge of the window.")] = 3.0,
    wrec_min: Annotated[_Finite, Query(description="Bottom edge of the window.")] = -3.0,
    wrec_max: Annotated[_Finite, Query(description="Top edge of the window.")] = 3.0,
    resolution: Annotated[
        int,
        Query(
            ge=1,
            description="Grid points per axis (unless nx / ny are given).",
            json_schema_extra=limited_by("max_resolution"),
        ),
    ] = 50,
    nx: Annotated[
        int | None,
        Query(
            ge=1,
            description="Grid points along wx.",
            json_schema_extra=limited_by("max_resolution"),
        ),
    ] = None,
    ny: Annotated[
        int | None,
        Query(
            ge=1,
            description="Grid points along wrec.",
            json_schema_extra=limited_by("max_resolution"),
        ),
    ] = None,
) -> Window:
    """The window and resolution of a surface, checked against the grid limits."""
    given = {"nx": nx, "ny": ny}
    sizes = {name: resolution if size is None else size for name, size in given.items()}
    try:
        window = Window(wx_min, wx_max, wrec_min, wrec_max, sizes["nx"], sizes["ny"])
    except InvalidInputError as exc:
        raise from_core(exc, ("query",)) from None
    for name, size in sizes.items():
        if size > settings.max_resolution:
            field = name if given[name] is not None else "resolution"
            raise LimitExceeded(
                "max_resolution", settings.max_resolution, size, field, ("query", field)
            )
    if window.size > settings.max_grid_points:
        raise LimitExceeded(
            "max_grid_points", settings.max_grid_points, window.size, "nx x ny", ("query",)
        )
    return window


GridQueryDep = Annotated[Window, Depends(grid_query)]


def parse_points(text: str) -> list[tuple[float, float]]:
    """``"1:2,1:-2"`` -> [(1.0, 2.0), (1.0, -2.0)]; InvalidInput names the bad pair."""
    points: list[tuple[float, float]] = []
    for index, pair in enumerate(text.split(",")):
        wx_text, sep, wrec_text = pair.strip().partition(":")
        try:
            if not sep:
                raise ValueError(pair)
            point = (float(wx_text), float(wrec_text))
        except ValueError:
            raise InvalidInput(
                ("query", "points", index), f"expected wx:wrec (two numbers), got {pair!r}"
            ) from None
        if not all(abs(value) < float("inf") for value in point):
            raise InvalidInput(("query", "points", index), f"coordinates must be finite: {pair!r}")
        points.append(point)
    return points


async def points_query(
    settings: SettingsDep,
    points: Annotated[
        str | None,
        Query(
            min_length=1,
            description="Points as wx:wrec pairs separated by commas "
            "(default: the tutorial's six, 2:1,1:2,1:-2,1:0,1:0.5,1:-0.5).",
            examples=["1:2,1:-2"],
        ),
    ] = None,
) -> list[tuple[float, float]]:
    """The points of a gradient-over-time (or a figure), checked against max_points."""
    if points is None:
        return list(TUTORIAL_POINTS)
    count = points.count(",") + 1
    if count > settings.max_points:
        raise LimitExceeded("max_points", settings.max_points, count, "points", ("query", "points"))
    return parse_points(points)


PointsQueryDep = Annotated[list[tuple[float, float]], Depends(points_query)]
