"""/datasets: store generated or uploaded datasets and refer to them by id."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request
from starlette.responses import Response

from service.datasets.registry import DatasetInfo, DatasetRegistry, sequences_payload
from service.datasets.schemas import DatasetOut, DatasetPage, DatasetSource
from service.deps import ComputeDep, DatasetsDep, JobsDep, SettingsDep
from service.errors import Conflict, LimitExceeded
from service.web.body import BodyRoute
from service.web.caching import NOT_MODIFIED, cached
from service.web.encoding import json_response
from service.web.problems import problem_responses

router = APIRouter(prefix="/datasets", tags=["datasets"], route_class=BodyRoute)

_EXAMPLES = {
    "tutorial": {
        "summary": "The tutorial dataset, as a spec",
        "value": {"n_samples": 20, "length": 10, "seed": 1, "generator": "legacy"},
    },
    "variable": {
        "summary": "Variable lengths",
        "value": {"n_samples": 1000, "min_length": 5, "max_length": 50, "seed": 7},
    },
    "upload": {
        "summary": "Uploaded sequences (targets default to the sums)",
        "value": {"sequences": [[0, 1, 1], [1, 0, 1, 1, 0]]},
    },
}


@router.post(
    "",
    summary="Store a dataset",
    status_code=201,
    response_model=DatasetOut,
    responses=problem_responses(413, 422, 429),
)
async def create_dataset(
    source: Annotated[DatasetSource, Body(openapi_examples=_EXAMPLES)],
    datasets: DatasetsDep,
    compute: ComputeDep,
) -> Response:
    """Store a dataset (same spec or same data: same id); Location names it."""
    info = await compute.run(datasets.create, source)
    return json_response(_public(info), 201, headers={"Location": f"/datasets/{info.id}"})


@router.get(
    "",
    summary="Stored datasets, oldest first",
    response_model=DatasetPage,
    responses=problem_responses(422),
)
async def list_datasets(
    datasets: DatasetsDep,
    compute: ComputeDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="Page size.")] = 100,
    cursor: Annotated[
        str | None, Query(max_length=512, description="`next_cursor` of the previous page.")
    ] = None,
) -> Response:
    """List stored datasets, oldest first, a page at a time."""
    page, next_cursor = await compute.run(datasets.page, limit, cursor)
    return json_response({"items": [_public(info) for info in page], "next_cursor": next_cursor})


@router.get(
    "/{dataset_id}",
    summary="A stored dataset",
    response_model=DatasetOut,
    responses={**NOT_MODIFIED, **problem_responses(404, 413, 422, 429)},
)
async def get_dataset(
    request: Request,
    dataset_id: str,
    datasets: DatasetsDep,
    compute: ComputeDep,
    settings: SettingsDep,
    include: Annotated[
        Literal["data"] | None, Query(description="`data` adds `sequences` and `targets`.")
    ] = None,
) -> Response:
    """A stored dataset's summary, or with `?include=data` its sequences and targets."""
    info = await compute.run(datasets.info, dataset_id)

    async def record() -> Response:
        if include is None:
            return json_response(_public(info))
        return json_response(
            await compute.run(_with_data, datasets, dataset_id, settings.max_include_elements)
        )

    # A record never changes; deleted and stored again, it has another created_at.
    key = {"dataset": info.id, "created_at": info.created_at, "include": include}
    return await cached(request, settings, key, record)


@router.delete(
    "/{dataset_id}",
    summary="Delete a stored dataset",
    status_code=204,
    responses=problem_responses(404, 409, 429),
)
async def delete_dataset(
    dataset_id: str, datasets: DatasetsDep, compute: ComputeDep, jobs: JobsDep
) -> Response:
    """Remove a stored dataset (409 while queued or running jobs need it)."""
    waiting = await compute.run(jobs.active_jobs_using, dataset_id)
    if waiting:
        raise Conflict(
            f"dataset {dataset_id} is used by queued or running jobs ({', '.join(waiting[:5])}"
            f"{', ...' if len(waiting) > 5 else ''}); cancel them or let them finish first"
        )
    await compute.run(datasets.delete, dataset_id)
    return Response(status_code=204)


def _public(info: DatasetInfo) -> dict[str, Any]:
    """The record as the API shows it: times in UTC with a ``Z``, as every time it sends."""
    return asdict(info) | {"created_at": info.created_at.replace("+00:00", "Z")}


def _with_data(datasets: DatasetRegistry, dataset_id: str, max_elements: int) -> dict[str, Any]:
    info = datasets.info(dataset_id)
    if info.elements > max_elements:
        raise LimitExceeded(
            "max_include_elements",
            max_elements,
            info.elements,
            "the dataset's steps (sequences x longest sequence)",
            ("query", "include"),
        )
    dataset = datasets.load(dataset_id)
    body = _public(info)
    body["sequences"] = sequences_payload(dataset)
    body["targets"] = dataset.targets
    return body
