"""Loss, gradient, gradient check, loss surface and gradient over time of the RNN."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import astuple
from typing import Annotated, Concatenate, ParamSpec, TypeVar

from fastapi import APIRouter, Header, Query, Request
from starlette.responses import Response

from core.cost import (
    bptt_seconds,
    forward_seconds,
    gradient_over_time_seconds,
    point_seconds,
    surface_seconds,
)
from core.datasets import Dataset
from service.analysis import compute as analysis
from service.analysis.params import DatasetQueryDep, GridQueryDep, PointsQueryDep
from service.analysis.schemas import (
    GradientCheckRequest,
    GradientCheckResponse,
    GradientOverTimeResponse,
    GradientRequest,
    GradientResponse,
    LossRequest,
    LossResponse,
    LossSurfaceResponse,
)
from service.config import Settings
from service.datasets.registry import DatasetRegistry
from service.datasets.schemas import DatasetRef
from service.deps import ComputeDep, DatasetsDep, SettingsDep
from service.errors import LimitExceeded, Loc
from service.web.body import BodyRoute
from service.web.budget import check_budget
from service.web.caching import NOT_MODIFIED, cached
from service.web.encoding import Format, json_response
from service.web.negotiation import choose_format, tabular_responses
from service.web.problems import problem_responses

P = ParamSpec("P")
T = TypeVar("T")

router = APIRouter(tags=["analysis"], route_class=BodyRoute)

_ERRORS = problem_responses(404, 413, 422, 429)
_BODY: Loc = ("body", "dataset")  # where an inline dataset sits, for error locations
_QUERY: Loc = ("query",)


@router.post(
    "/loss", summary="The loss at given weights", response_model=LossResponse, responses=_ERRORS
)
async def compute_loss(
    body: LossRequest, datasets: DatasetsDep, compute: ComputeDep, settings: SettingsDep
) -> Response:
    """Loss (mean squared error) at the given weights."""
    n, width = datasets.shape(body, _BODY)
    if body.include_outputs:
        seconds = forward_seconds(n, width)
    else:
        seconds = point_seconds(n, width, with_gradient=False)
    check_budget(settings, seconds, "the loss", _BODY)
    w = body.weights
    payload = await compute.run_estimated(
        _if_in_memory(datasets, body, seconds),
        _on_dataset,
        datasets,
        body,
        _BODY,
        analysis.loss_payload,
        w.wx,
        w.wrec,
        body.include_outputs,
    )
    return json_response(payload)


@router.post(
    "/gradient",
    summary="The loss gradient at given weights",
    response_model=GradientResponse,
    responses=_ERRORS,
)
async def compute_gradient(
    body: GradientRequest, datasets: DatasetsDep, compute: ComputeDep, settings: SettingsDep
) -> Response:
    """Loss and gradient at given weights (optionally BPTT's per-step traces).

    Without traces, the answer comes from the dataset's polynomial statistics where those
    are known or cheaper to compute than backpropagation through time, and agrees with it
    to 1e-10 relative; with a trace, BPTT computes everything.
    """
    n, width = datasets.shape(body, _BODY)
    if body.include_trace or body.include_sequence_trace:
        seconds = bptt_seconds(n, width)
    else:
        seconds = point_seconds(n, width, with_gradient=True)
    check_budget(settings, seconds, "the gradient", _BODY)
    if body.include_sequence_trace:
        _check_sequence_trace(settings, n, width)
    w = body.weights
    payload = await compute.run_estimated(
        _if_in_memory(datasets, body, seconds),
        _on_dataset,
        datasets,
        body,
        _BODY,
        analysis.gradient_payload,
        w.wx,
        w.wrec,
        body.include_trace,
        body.include_sequence_trace,
    )
    return json_response(payload)


def _check_sequence_trace(settings: Settings, n_samples: int, width: int) -> None:
    """LimitExceeded when ``sequence_trace`` would hold over ``max_include_elements`` values.

    The trace is a float64 matrix in memory and a JSON array in the answer, so it is
    bounded like the other include-style answer (the data of ``GET /datasets/{id}``).
    """
    size = n_samples * (width + 1)
    if size > settings.max_include_elements:
        raise LimitExceeded(
            "max_include_elements",
            settings.max_include_elements,
            size,
            "the sequence_trace's values (sequences x (longest sequence + 1))",
            ("body", "include_sequence_trace"),
        )


@router.post(
    "/gradient-check",
    summary="BPTT against central differences",
    response_model=GradientCheckResponse,
    responses=_ERRORS,
)
async def check_gradient(
    body: GradientCheckRequest, datasets: DatasetsDep, compute: ComputeDep, settings: SettingsDep
) -> Response:
    """BPTT gradient next to central differences, and whether they agree."""
    n, width = datasets.shape(body, _BODY)
    seconds = bptt_seconds(n, width) + forward_seconds(n, width, 4)
    check_budget(settings, seconds, "the gradient check", _BODY)
    w = body.weights
    payload = await compute.run_estimated(
        _if_in_memory(datasets, body, seconds),
        _on_dataset,
        datasets,
        body,
        _BODY,
        analysis.gradient_check_payload,
        w.wx,
        w.wrec,
        body.eps,
    )
    return json_response(payload)


@router.get(
    "/loss-surface",
    summary="The loss over a grid of weights",
    response_model=LossSurfaceResponse,
    responses={
        **tabular_responses("The loss on the grid.", flags_overflow=True),
        **NOT_MODIFIED,
        **_ERRORS,
    },
)
async def get_loss_surface(
    request: Request,
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
    n, width = datasets.shape(ref, _QUERY)
    seconds = surface_seconds(n, width, grid.nx, grid.ny)
    check_budget(settings, seconds, "the surface", ("query", "resolution"))

    async def surface() -> Response:
        result = await compute.run(_on_dataset, datasets, ref, _QUERY, analysis.surface, grid)
        return analysis.surface_response(result, fmt)

    key = {"of": "loss-surface", "dataset": ref.cache_key(), "grid": astuple(grid), "format": fmt}
    return await cached(request, settings, key, surface, vary="Accept")


@router.get(
    "/gradient-over-time",
    summary="The gradient through time at given points",
    response_model=GradientOverTimeResponse,
    responses={**NOT_MODIFIED, **_ERRORS},
)
async def get_gradient_over_time(
    request: Request,
    ref: DatasetQueryDep,
    points: PointsQueryDep,
    datasets: DatasetsDep,
    compute: ComputeDep,
    settings: SettingsDep,
) -> Response:
    """dξ/dS_k summed over sequences at each point, k = 0..n (default: the tutorial's six)."""
    n, width = datasets.shape(ref, _QUERY)
    seconds = gradient_over_time_seconds(n, width, len(points))
    check_budget(settings, seconds, "the gradient over time", ("query", "points"))

    async def series() -> Response:
        payload = await compute.run(
            _on_dataset, datasets, ref, _QUERY, analysis.gradient_over_time_payload, points
        )
        return json_response(payload)

    key = {"of": "gradient-over-time", "dataset": ref.cache_key(), "points": points}
    return await cached(request, settings, key, series)


def _if_in_memory(datasets: DatasetRegistry, ref: DatasetRef, seconds: float) -> float | None:
    """The estimate, when the dataset is at hand; None (unknown) when it must be read or
    generated first, which the estimate does not cover."""
    return seconds if datasets.in_memory(ref) else None


def _on_dataset(
    datasets: DatasetRegistry,
    ref: DatasetRef,
    loc: Loc,
    func: Callable[Concatenate[Dataset, P], T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """``func(dataset, *args)`` for the referenced dataset: one trip to a worker thread."""
    return func(datasets.resolve(ref, loc), *args, **kwargs)
