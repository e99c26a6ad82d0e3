"""Loss, gradient, gradient check, loss surface and gradient over time of the RNN."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query
from starlette.responses import Response

from service import analysis
from service.compute import ComputeDep
from service.config import SettingsDep
from service.datasets import DatasetsDep
from service.encoding import Format, choose_format, json_response, tabular_responses
from service.params import DatasetQueryDep, GridQueryDep, PointsQueryDep
from service.problems import problem_responses
from service.schemas.analysis import (
    GradientCheckRequest,
    GradientCheckResponse,
    GradientOverTimeResponse,
    GradientRequest,
    GradientResponse,
    LossRequest,
    LossResponse,
    LossSurfaceResponse,
)
from service.work import check_work

router = APIRouter(tags=["analysis"])

_ERRORS = problem_responses(404, 413, 422, 429)


@router.post("/loss", response_model=LossResponse, responses=_ERRORS)
async def post_loss(body: LossRequest, datasets: DatasetsDep, compute: ComputeDep) -> Response:
    """Loss (mean squared error) at the given weights."""
    dataset = await compute.run(datasets.resolve, body)
    w = body.weights
    return json_response(
        await compute.run(analysis.loss_payload, dataset, w.wx, w.wrec, body.include_outputs)
    )


@router.post("/gradient", response_model=GradientResponse, responses=_ERRORS)
async def post_gradient(
    body: GradientRequest, datasets: DatasetsDep, compute: ComputeDep
) -> Response:
    """Loss and gradient by backpropagation through time (optionally the per-step trace)."""
    dataset = await compute.run(datasets.resolve, body)
    w = body.weights
    return json_response(
        await compute.run(analysis.gradient_payload, dataset, w.wx, w.wrec, body.include_trace)
    )


@router.post("/gradient-check", response_model=GradientCheckResponse, responses=_ERRORS)
async def post_gradient_check(
    body: GradientCheckRequest, datasets: DatasetsDep, compute: ComputeDep
) -> Response:
    """BPTT gradient next to central differences, and whether they agree."""
    dataset = await compute.run(datasets.resolve, body)
    w = body.weights
    return json_response(
        await compute.run(analysis.gradient_check_payload, dataset, w.wx, w.wrec, body.eps)
    )


@router.get(
    "/loss-surface",
    response_model=LossSurfaceResponse,
    responses={**tabular_responses("The loss on the grid."), **_ERRORS},
)
async def get_loss_surface(
    ref: DatasetQueryDep,
    grid: GridQueryDep,
    datasets: DatasetsDep,
    compute: ComputeDep,
    settings: SettingsDep,
    format: Annotated[
        Format | None,
        Query(description="json (default), npy (float64 loss matrix, ny x nx) or csv."),
    ] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """The loss on an evenly spaced grid of (wx, wrec): JSON, npy or CSV."""
    fmt = choose_format(format, accept)
    n, width = datasets.shape(ref, ("query",))
    check_work(settings, grid.points, n, width, ("query", "resolution"))
    dataset = await compute.run(datasets.resolve, ref, ("query",))
    body, media_type, headers = await compute.run(
        analysis.surface_body, dataset, grid.wx_range, grid.wrec_range, grid.nx, grid.ny, fmt
    )
    return Response(body, media_type=media_type, headers=headers)


@router.get("/gradient-over-time", response_model=GradientOverTimeResponse, responses=_ERRORS)
async def get_gradient_over_time(
    ref: DatasetQueryDep,
    points: PointsQueryDep,
    datasets: DatasetsDep,
    compute: ComputeDep,
    settings: SettingsDep,
) -> Response:
    """dξ/dS_k summed over sequences at each point, k = 0..n (default: the tutorial's six)."""
    n, width = datasets.shape(ref, ("query",))
    check_work(settings, len(points), n, width, ("query", "points"))
    dataset = await compute.run(datasets.resolve, ref, ("query",))
    return json_response(await compute.run(analysis.gradient_over_time_payload, dataset, points))
