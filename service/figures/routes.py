"""The tutorial's figures as PNG or SVG: the loss surface, the gradient over time, a job's path.

The same query always draws the same picture, so every image is cached and revalidated
as ``service.web.caching`` says (strong ETag, 304 before anything is computed). The
surfaces and paths are computed in a worker thread (``service.web.compute``), the image
drawn in a process of its own (``service.figures.renderer``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import astuple
from typing import Annotated, Any, Literal

import anyio.to_thread
import matplotlib
from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from core.cost import gradient_over_time_seconds, surface_seconds
from core.datasets import Dataset
from core.surface import GradientOverTime, LossSurface, gradient_over_time, loss_surface_on
from core.training import Trajectory
from core.window import Window
from service import __version__
from service.analysis.params import DatasetQueryDep, GridQueryDep, PointsQueryDep
from service.config import Settings
from service.deps import ComputeDep, DatasetsDep, JobsDep, RendererDep, SettingsDep
from service.errors import Conflict, LimitExceeded
from service.figures import drawing, paths
from service.figures.params import (
    GradientSizeDep,
    SurfaceSizeDep,
    ZoomQueryDep,
    figure_grid,
    figure_points,
)
from service.web.budget import check_budget
from service.web.caching import NOT_MODIFIED, cached
from service.web.models import limited_by
from service.web.problems import problem_responses

__all__ = ["router"]

router = APIRouter(tags=["figures"])

# Part of every ETag: a new drawing (or matplotlib) must not be served as the old one.
_DRAWING_VERSION = f"{__version__}/1/{matplotlib.__version__}"

FormatPath = Annotated[Literal["png", "svg"], Path(description="Image format.")]


def _image_responses(description: str, *errors: int) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": description,
            "content": {
                media_type: {"schema": {"type": "string", "format": "binary"}}
                for media_type in drawing.MEDIA_TYPES.values()
            },
        },
        **NOT_MODIFIED,
        **problem_responses(*errors),
    }


async def _image(
    request: Request,
    settings: Settings,
    key: dict[str, Any],
    fmt: drawing.ImageFormat,
    draw: Callable[[], Any],
) -> Response:
    """304 when the client's copy is current, else the image that ``draw`` makes."""

    async def image() -> Response:
        return Response(await draw(), media_type=drawing.MEDIA_TYPES[fmt])

    return await cached(request, settings, {**key, "format": fmt}, image, version=_DRAWING_VERSION)


def _surfaces(dataset: Dataset, windows: Sequence[Window]) -> list[LossSurface]:
    """The loss on each window (blocking: runs in a worker thread)."""
    return [loss_surface_on(dataset, window) for window in windows]


# -- routes -----------------------------------------------------------------------------


@router.get(
    "/figures/loss-surface.{fmt}",
    summary="The loss-surface figure",
    response_class=Response,
    responses=_image_responses("The two-panel loss surface.", 404, 413, 422, 429),
)
async def get_loss_surface_figure(
    request: Request,
    fmt: FormatPath,
    ref: DatasetQueryDep,
    grid: GridQueryDep,
    zoom: ZoomQueryDep,
    points: PointsQueryDep,
    size: SurfaceSizeDep,
    datasets: DatasetsDep,
    compute: ComputeDep,
    renderer: RendererDep,
    settings: SettingsDep,
) -> Response:
    """The tutorial's loss-surface figure: overview and zoom, log colours, annotated points.

    The overview window is `wx_min`..`wrec_max` (default [-3, 3]²), the zoom window
    `zoom_wx_min`..`zoom_wrec_max` (default [-0.1, 2.1]², `zoom=false` drops it); colours
    and contour levels are the tutorial's, logspace(-0.2, 8, 30) on loss + 1; cells whose
    loss overflowed are hatched grey.
    """
    grid = figure_grid(settings, grid)
    figure_points(settings, points)
    windows = [grid] if zoom is None else [grid, zoom]
    n, width = datasets.shape(ref, ("query",))
    seconds = len(windows) * surface_seconds(n, width, grid.nx, grid.ny)
    check_budget(settings, seconds, "the figure's surfaces", ("query", "resolution"))
    key = {
        "figure": "loss-surface",
        "dataset": ref.cache_key(),
        "windows": [astuple(w) for w in windows],
        "points": points,
        "size": astuple(size),
    }

    async def draw() -> bytes:
        dataset = await compute.run(datasets.resolve, ref, ("query",))
        panels = await compute.run(_surfaces, dataset, windows)
        return await renderer.render(drawing.loss_surface_image, panels, points, size, fmt)

    return await _image(request, settings, key, fmt, draw)


@router.get(
    "/figures/gradient-over-time.{fmt}",
    summary="The gradient-over-time figure",
    response_class=Response,
    responses=_image_responses("dξ/dS_k over time at each point.", 404, 413, 422, 429),
)
async def get_gradient_over_time_figure(
    request: Request,
    fmt: FormatPath,
    ref: DatasetQueryDep,
    points: PointsQueryDep,
    size: GradientSizeDep,
    datasets: DatasetsDep,
    compute: ComputeDep,
    renderer: RendererDep,
    settings: SettingsDep,
) -> Response:
    """One line per point of dξ/dS_k summed over sequences, symlog y, k = n..0 left to right."""
    figure_points(settings, points)
    n, width = datasets.shape(ref, ("query",))
    seconds = gradient_over_time_seconds(n, width, len(points))
    check_budget(settings, seconds, "the gradient over time", ("query", "points"))
    key = {
        "figure": "gradient-over-time",
        "dataset": ref.cache_key(),
        "points": points,
        "size": astuple(size),
    }

    def series() -> GradientOverTime:
        return gradient_over_time(datasets.resolve(ref, ("query",)), points)

    async def draw() -> bytes:
        result = await compute.run(series)
        return await renderer.render(drawing.gradient_over_time_image, result, points, size, fmt)

    return await _image(request, settings, key, fmt, draw)


@router.get(
    "/jobs/{job_id}/figure.{fmt}",
    summary="A job's path on the loss surface",
    response_class=Response,
    responses=_image_responses(
        "The job's trajectory (every start) on the loss surface.", 404, 409, 413, 422, 429, 503
    ),
)
async def get_job_figure(
    request: Request,
    job_id: Annotated[str, Path(min_length=1, max_length=64, description="A job id.")],
    fmt: FormatPath,
    size: SurfaceSizeDep,
    jobs: JobsDep,
    datasets: DatasetsDep,
    compute: ComputeDep,
    renderer: RendererDep,
    settings: SettingsDep,
    resolution: Annotated[
        int,
        Query(
            ge=2,
            description="Grid points per axis of the surface.",
            json_schema_extra=limited_by("figure_max_resolution"),
        ),
    ] = 50,
) -> Response:
    """A finished job's path on the loss surface: overview and a zoom on the final points.

    409 while the job is queued or running; 404 for an unknown job or one that recorded
    no trajectory.
    """
    if resolution > settings.figure_max_resolution:
        raise LimitExceeded(
            "figure_max_resolution",
            settings.figure_max_resolution,
            resolution,
            "resolution",
            ("query", "resolution"),
        )
    job = await anyio.to_thread.run_sync(jobs.get, job_id)
    if not job.finished:
        raise Conflict(f"job {job_id} is {job.status}; its figure exists once it ends")
    if job.n_trajectories == 0:
        await anyio.to_thread.run_sync(jobs.trajectory, job_id, None)  # the 404 that says why
    train = await anyio.to_thread.run_sync(jobs.request, job_id)
    n, width = datasets.shape(train)
    seconds = 2 * surface_seconds(n, width, resolution, resolution)
    check_budget(settings, seconds, "the figure's surfaces", ("query", "resolution"))
    key = {
        "figure": "job",
        "job": job.id,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "resolution": resolution,
        "size": astuple(size),
    }
    best = job.result.best_start if job.result is not None else None
    diverged = job.result is not None and job.result.diverged
    title = f"Job {job_id} ({job.status}{', diverged' if diverged else ''})"

    def paths_and_panels() -> tuple[list[Trajectory], list[LossSurface]]:
        runs = [
            paths.thinned(jobs.trajectory(job_id, start)[1]) for start in range(job.n_trajectories)
        ]
        windows = paths.job_windows(runs, resolution)
        return runs, _surfaces(datasets.resolve(train), windows)

    async def draw() -> bytes:
        runs, panels = await compute.run(paths_and_panels)
        return await renderer.render(drawing.trajectory_image, panels, runs, size, best, title, fmt)

    return await _image(request, settings, key, fmt, draw)
