"""/train and /jobs: submit training jobs, follow them (JSON or SSE), cancel them.

Routes are thin: ``JobService`` (``service.jobs.service``) validates, stores, enqueues and
reads; its blocking calls run in threads. Waiting (``?wait=``, the event stream, a DELETE
of a running job) polls the job store, which every backend can answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import anyio
import anyio.to_thread
import numpy as np
from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent
from starlette.responses import Response

from service.deps import JobsDep, SettingsDep, WatcherDep
from service.figures.paths import picked
from service.jobs.ids import ID_PATTERN
from service.jobs.models import JobRecord, JobStatus
from service.jobs.optimizers import OptimizerInfo, optimizer_infos
from service.jobs.schemas import Job, JobList, TrainRequest, TrajectoryOut
from service.runs.params import MaxPointsQuery, check_max_points
from service.web.body import BodyRoute
from service.web.context import on_request_end
from service.web.encoding import Format, csv_response, json_response, npy_response
from service.web.negotiation import choose_format, tabular_responses
from service.web.problems import problem_responses

router = APIRouter(tags=["jobs"], route_class=BodyRoute)

MAX_WAIT = 600.0  # longest ?wait= in seconds
CANCEL_WAIT = 2.0  # a DELETE waits this long for a running job to stop

JobId = Annotated[str, Path(min_length=1, max_length=64, description="A job id.")]


@router.get(
    "/optimizers",
    summary="The optimizers and their hyperparameters",
    response_model=list[OptimizerInfo],
)
async def list_optimizers() -> list[OptimizerInfo]:
    """The optimizers `POST /train` takes, with their hyperparameters, defaults and ranges."""
    return optimizer_infos()


@router.post(
    "/train",
    summary="Start a training job",
    status_code=202,
    response_model=Job,
    responses={
        200: {"model": Job, "description": "With `wait`: the job ended in time."},
        **problem_responses(404, 413, 422, 429, 503),
    },
)
async def train(
    jobs: JobsDep,
    watcher: WatcherDep,
    response: Response,
    wait: Annotated[
        float | None,
        Query(
            ge=0,
            le=MAX_WAIT,
            allow_inf_nan=False,
            description="Seconds to wait for the job to end: 200 with the ended job if it "
            "does, else 202 as without (at most the server's max_train_wait).",
        ),
    ] = None,
    body: Annotated[
        TrainRequest | None, Body(description="The run; no body at all is the tutorial's run.")
    ] = None,
) -> Job:
    """Queue a training job (202, `Location: /jobs/{id}`); with `wait`, maybe its end (200).

    Without a body (or with `{}`) the job is the tutorial's run: rprop from (-1.5, 2) for
    500 iterations on the tutorial dataset.
    """
    job = await anyio.to_thread.run_sync(jobs.submit, body or TrainRequest.model_validate({}))
    if wait:
        job = await watcher.wait_end(job, min(wait, jobs.settings.max_train_wait))
    response.headers["Location"] = f"/jobs/{job.id}"
    response.status_code = 200 if job.finished else 202
    return Job.of(job)


@router.get(
    "/jobs",
    summary="Training jobs, newest first",
    response_model=JobList,
    responses=problem_responses(422, 503),
)
async def list_jobs(
    jobs: JobsDep,
    status: Annotated[JobStatus | None, Query(description="Only jobs in this status.")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Page size.")] = 50,
    cursor: Annotated[
        str | None,
        Query(pattern=ID_PATTERN, description="`next_cursor` of the previous page."),
    ] = None,
) -> JobList:
    """Jobs, newest first, a page at a time."""
    page, next_cursor = await anyio.to_thread.run_sync(jobs.page, status, limit, cursor)
    return JobList(items=[Job.of(job) for job in page], next_cursor=next_cursor)


@router.get(
    "/jobs/{job_id}",
    summary="A training job",
    response_model=Job,
    responses=problem_responses(404, 503),
)
async def get_job(job_id: JobId, jobs: JobsDep) -> Job:
    """A job: status, progress, and its result or error once it ended."""
    return Job.of(await anyio.to_thread.run_sync(jobs.get, job_id))


@router.delete(
    "/jobs/{job_id}",
    summary="Cancel a training job",
    response_model=Job,
    responses={
        202: {"model": Job, "description": "A running job was asked to stop and is stopping."},
        **problem_responses(404, 409, 503),
    },
)
async def cancel_job(job_id: JobId, jobs: JobsDep, watcher: WatcherDep, response: Response) -> Job:
    """Cancel a job: queued ones at once, running ones within a second (200 once cancelled)."""
    job = await anyio.to_thread.run_sync(jobs.cancel, job_id)
    job = await watcher.wait_end(job, CANCEL_WAIT)
    response.status_code = 200 if job.finished else 202
    return Job.of(job)


@router.get(
    "/jobs/{job_id}/trajectory",
    summary="A job's path through weight space",
    response_model=TrajectoryOut,
    responses={
        **tabular_responses(
            "The weights and loss before the first and after every iteration: JSON, "
            ".npy of shape (iterations + 1, 3) with columns wx, wrec, loss, or CSV "
            "`iteration,wx,wrec,loss`. With `max_points`, only that many rows, evenly "
            "spread with both ends kept (their iterations in JSON `iteration` and the "
            "CSV's first column). Non-finite values are null (JSON), NaN (npy) or empty "
            "(CSV)."
        ),
        **problem_responses(404, 409, 413, 422, 503),
    },
)
async def get_job_trajectory(
    job_id: JobId,
    jobs: JobsDep,
    settings: SettingsDep,
    format: Annotated[
        Format | None, Query(description="json, npy or csv (default: from Accept, else json).")
    ] = None,
    start: Annotated[
        int | None,
        Query(ge=0, description="Multi-start jobs: which start (default: the reported one)."),
    ] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
    max_points: MaxPointsQuery = None,
) -> Response:
    """The path training took: weights and loss at every iteration (once the job ended)."""
    job, trajectory, index = await anyio.to_thread.run_sync(jobs.trajectory, job_id, start)
    check_max_points(settings, max_points)
    size = len(trajectory.wx)
    iterations = picked(size, max_points or size) if size > 1 else np.arange(size)
    columns = (trajectory.wx, trajectory.wrec, trajectory.loss)
    overflow = not all(bool(np.isfinite(column).all()) for column in columns)
    table = np.column_stack([column[iterations] for column in columns])
    fmt = choose_format(format, accept)
    if fmt == "npy":
        return npy_response(table)
    if fmt == "csv":
        return csv_response("iteration,wx,wrec,loss", iterations, table)
    return json_response(
        {
            "job_id": job.id,
            "start": index,
            "iterations": size - 1,
            "overflow": overflow,
            "iteration": iterations,
            "wx": np.ascontiguousarray(table[:, 0]),
            "wrec": np.ascontiguousarray(table[:, 1]),
            "loss": np.ascontiguousarray(table[:, 2]),
        }
    )


async def stream_slot(request: Request, job_id: JobId, watcher: WatcherDep) -> None:
    """Count this event stream against the caps (429/503 at once beyond them)."""
    watcher.open_stream(job_id)
    on_request_end(request.scope, lambda: watcher.close_stream(job_id))


async def existing_job(job_id: JobId, jobs: JobsDep) -> JobRecord:
    """The job, looked up before a stream starts (so an unknown id is a plain 404)."""
    return await anyio.to_thread.run_sync(jobs.get, job_id)


@router.get(
    "/jobs/{job_id}/events",
    summary="A job's progress as server-sent events",
    response_class=EventSourceResponse,
    responses=problem_responses(404, 429, 503),
    dependencies=[Depends(stream_slot)],
)
async def get_job_events(
    job: Annotated[JobRecord, Depends(existing_job)], watcher: WatcherDep
) -> AsyncIterator[ServerSentEvent]:
    """Server-sent events: `progress` while the job is queued or runs, then one `done`.

    Each `progress` event's data is `{id, status, progress}`; `done` carries the whole Job.
    """
    async for state in watcher.changes(job):
        if state.finished:
            yield ServerSentEvent(event="done", data=Job.of(state), id="done")
            return
        data = {"id": state.id, "status": state.status, "progress": state.progress}
        yield ServerSentEvent(event="progress", data=data, id=str(state.progress.iteration))
