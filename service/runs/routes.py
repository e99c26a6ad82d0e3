"""POST /runs: short training runs answered in the request, for pages that redraw at once.

A job (``POST /train``) is queued, kept and followed; a run is computed while the client
waits and forgotten, so it is bounded more tightly: ``max_run_iterations``,
``max_run_starts``, the compute budget (``core.cost.training_seconds``) and the thinning
limit ``max_path_points``. Anything longer is a job.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from core.cost import training_seconds
from core.datasets import Dataset
from core.optimizers import make_optimizer
from service.config import Settings
from service.datasets.registry import DatasetRegistry
from service.deps import ComputeDep, DatasetsDep, SettingsDep
from service.errors import LimitExceeded, Loc
from service.runs.compute import run_payload
from service.runs.params import MaxPointsQuery, check_max_points
from service.runs.schemas import RunRequest, RunResponse
from service.web.body import BodyRoute
from service.web.budget import check_budget
from service.web.encoding import json_response
from service.web.problems import problem_responses

__all__ = ["router"]

router = APIRouter(tags=["runs"], route_class=BodyRoute)

_BODY: Loc = ("body", "dataset")


def _check_run(settings: Settings, body: RunRequest) -> None:
    """The limits of a run: iterations and starts (each 413 naming its setting)."""
    if body.iterations > settings.max_run_iterations:
        raise LimitExceeded(
            "max_run_iterations",
            settings.max_run_iterations,
            body.iterations,
            "iterations of a run (longer runs are jobs: POST /train)",
            ("body", "iterations"),
        )
    if body.n_starts > settings.max_run_starts:
        raise LimitExceeded(
            "max_run_starts",
            settings.max_run_starts,
            body.n_starts,
            "starts of a run",
            ("body", "starts"),
        )


@router.post(
    "/runs",
    summary="Short training runs, answered at once",
    response_model=RunResponse,
    responses=problem_responses(404, 413, 422, 429),
)
async def compute_runs(
    body: RunRequest,
    datasets: DatasetsDep,
    compute: ComputeDep,
    settings: SettingsDep,
    max_points: MaxPointsQuery = None,
) -> Response:
    """Train briefly in the request: each start's outcome and its (thinned) path."""
    _check_run(settings, body)
    check_max_points(settings, max_points)
    make_optimizer(body.optimizer.name, **body.optimizer.hyperparameters())  # 422 early
    n, width = datasets.shape(body, _BODY)
    seconds = training_seconds(n, width, body.iterations, body.n_starts)
    check_budget(settings, seconds, "the run", ("body", "iterations"))
    payload = await compute.run(_on_dataset, datasets, body, max_points)
    return json_response(payload)


def _on_dataset(
    datasets: DatasetRegistry, body: RunRequest, max_points: int | None
) -> dict[str, object]:
    """Resolve the dataset and train, in one trip to a worker thread."""
    dataset: Dataset = datasets.resolve(body, _BODY)
    return run_payload(dataset, body, max_points)
