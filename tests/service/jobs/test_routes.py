"""/train and /jobs in-process: the app with its lifespan, tasks run by a thread worker."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import numpy as np
import pytest
from fastapi import FastAPI

from service.config import Settings
from service.deps import app_state
from service.jobs.service import JobService
from tests._net import free_port
from tests._redis import redis_or_skip
from tests.service._api import problem, running
from tests.service._jobs import InlineWorker

pytestmark = pytest.mark.anyio

TUTORIAL_SEQUENCE = [0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 1, 1]
# A 3 x 2 grid of starts: wx in {-1, 0, 1}, wrec in {0.5, 1.5}.
GRID = {"wx_min": -1, "wx_max": 1, "wrec_min": 0.5, "wrec_max": 1.5, "nx": 3, "ny": 2}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running(Settings(data_dir=tmp_path, max_queued_jobs=3)) as pair:
        yield pair


def no_nan(response: httpx.Response) -> Any:
    text = response.text
    assert "NaN" not in text
    assert "Infinity" not in text
    return json.loads(text)


async def test_train_answers_202_with_a_location_then_the_job_succeeds(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/train", json={})
    assert response.status_code == 202
    job = response.json()
    assert response.headers["location"] == f"/jobs/{job['id']}"
    assert job["status"] in {"queued", "running", "succeeded"}
    assert job["progress"]["iterations"] == 500
    for _ in range(200):
        job = (await client.get(f"/jobs/{job['id']}")).json()
        if job["status"] == "succeeded":
            break
    assert job["status"] == "succeeded"


async def test_wait_returns_the_tutorial_result(client: httpx.AsyncClient) -> None:
    response = await client.post("/train?wait=30", json={})
    assert response.status_code == 200
    job = response.json()
    assert job["status"] == "succeeded"
    assert job["error"] is None
    weights = job["result"]["weights"]
    assert (round(weights["wx"], 4), round(weights["wrec"], 4)) == (1.0014, 0.9997)
    assert job["result"]["iterations"] == 500
    assert job["started_at"] is not None
    assert job["finished_at"] is not None


async def test_wait_too_short_still_answers_202(idle: httpx.AsyncClient) -> None:
    response = await idle.post("/train?wait=0.1", json={})
    assert response.status_code == 202
    assert response.json()["status"] == "queued"


@pytest.mark.parametrize(
    ("body", "status", "loc"),
    [
        ({"optimizer": {"name": "adam"}}, 422, ["body", "optimizer", "name"]),
        ({"optimizer": {"name": "sgd", "eta_plus": 2}}, 422, ["body", "optimizer", "eta_plus"]),
        ({"optimizer": {"eta_plus": 0.5}}, 422, ["body", "optimizer", "eta_plus"]),
        ({"optimizer": {"name": "sgd", "momentum": 1.5}}, 422, ["body", "optimizer", "momentum"]),
        ({"iterations": 0}, 422, ["body", "iterations"]),
        ({"iterations": True}, 422, ["body", "iterations"]),
        ({"iterations": 20_000_000}, 413, ["body", "iterations"]),
        ({"tolerance": -1}, 422, ["body", "tolerance"]),
        ({"initial": {"wx": 1}}, 422, ["body", "initial", "wrec"]),
        ({"starts": []}, 422, ["body", "starts"]),
        ({"starts": [{"wx": 0, "wrec": 0}] * 300}, 413, ["body", "starts"]),
        ({"starts_grid": {**GRID, "nx": 0}}, 422, ["body", "starts_grid", "nx"]),
        ({"starts_grid": {**GRID, "ny": 1.5}}, 422, ["body", "starts_grid", "ny"]),
        ({"starts_grid": {**GRID, "wx_min": 2}}, 422, ["body", "starts_grid"]),
        ({"starts_grid": {**GRID, "wrec_max": -1}}, 422, ["body", "starts_grid"]),
        (
            {"starts_grid": {**GRID, "wx_min": -1e308, "wx_max": 1e308}},
            422,
            ["body", "starts_grid"],
        ),
        ({"starts_grid": {**GRID, "wx_max": "inf"}}, 422, ["body", "starts_grid", "wx_max"]),
        ({"starts_grid": {"wx_min": 0, "wx_max": 1, "nx": 2}}, 422, ["body", "starts_grid", "ny"]),
        ({"starts_grid": {**GRID, "nx": 20, "ny": 13}}, 413, ["body", "starts_grid"]),
        ({"starts_grid": {**GRID, "nx": 10**12, "ny": 10**12}}, 413, ["body", "starts_grid"]),
        (
            {
                "dataset": {"n_samples": 100_000, "length": 100},
                "iterations": 200,
                "starts_grid": GRID,
            },
            413,
            ["body", "iterations"],
        ),  # 6 starts x 200 iterations x 10**7 elements: over max_job_work (1 start is not)
        ({"unknown": 1}, 422, ["body", "unknown"]),
        (
            {"dataset": {"n_samples": 2, "length": 3, "seed": 2**32, "generator": "legacy"}},
            422,
            ["body", "dataset", "seed"],
        ),
        (
            {"dataset": {"n_samples": 1_000_000, "length": 100}, "iterations": 1000},
            413,
            ["body", "iterations"],
        ),
        (
            {"iterations": 6_000_000},
            413,
            ["body", "iterations"],
        ),  # trajectory points
    ],
)
async def test_bad_requests_are_rejected_before_anything_is_queued(
    idle: httpx.AsyncClient, body: dict[str, Any], status: int, loc: list[Any]
) -> None:
    response = await idle.post("/train", json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert loc in [error["loc"] for error in response.json()["errors"]]
    assert (await idle.get("/jobs")).json()["items"] == []


async def test_a_grid_of_starts_trains_every_point_like_the_same_starts(
    client: httpx.AsyncClient,
) -> None:
    body = {"optimizer": {"name": "irprop-"}, "iterations": 60, "starts_grid": GRID}
    response = await client.post("/train?wait=30", json=body)
    assert response.status_code == 200, response.text
    job = response.json()
    assert job["status"] == "succeeded"
    starts = job["result"]["starts"]
    grid = [{"wx": wx, "wrec": wrec} for wrec in (0.5, 1.5) for wx in (-1.0, 0.0, 1.0)]
    assert [start["initial"] for start in starts] == grid  # wx varies fastest
    best = job["result"]["best_start"]
    assert job["result"]["weights"] == starts[best]["weights"]
    # The same points given as `starts` train the same way and report the same.
    listed = {"optimizer": {"name": "irprop-"}, "iterations": 60, "starts": grid}
    same = (await client.post("/train?wait=30", json=listed)).json()
    assert same["result"] == job["result"]
    path = f"/jobs/{job['id']}/trajectory"
    last = (await client.get(path, params={"start": 5})).json()
    assert (last["wx"][0], last["wrec"][0]) == (1.0, 1.5)
    assert (await client.get(path, params={"start": 6})).status_code == 404


async def test_a_queued_grid_job_shows_its_first_point(idle: httpx.AsyncClient) -> None:
    job = (await idle.post("/train", json={"starts_grid": GRID})).json()
    assert job["progress"]["weights"] == {"wx": -1.0, "wrec": 0.5}


async def test_starts_and_starts_grid_together_are_422_naming_both(
    idle: httpx.AsyncClient,
) -> None:
    body = {"starts": [{"wx": 0, "wrec": 0}], "starts_grid": GRID}
    response = await idle.post("/train", json=body)
    assert response.status_code == 422
    assert "starts" in response.json()["detail"]
    assert "starts_grid" in response.json()["detail"]
    assert (await idle.get("/jobs")).json()["items"] == []


async def test_too_many_grid_points_is_413_naming_max_starts(tmp_path: Path) -> None:
    async with running(Settings(data_dir=tmp_path, max_starts=6)) as (_, client):
        ok = await client.post("/train", json={"starts_grid": GRID})
        assert ok.status_code == 202
        response = await client.post("/train", json={"starts_grid": {**GRID, "ny": 3}})
        assert response.status_code == 413
        problem = response.json()
        assert problem["limit"] == {"name": "max_starts", "value": 6}
        assert "RNNLAB_MAX_STARTS" in problem["detail"]
        assert "9" in problem["detail"]
        assert len((await client.get("/jobs")).json()["items"]) == 1


async def test_an_unknown_dataset_is_404_and_not_queued(idle: httpx.AsyncClient) -> None:
    response = await idle.post("/train", json={"dataset_id": "g-0000"})
    assert response.status_code == 404
    assert (await idle.get("/jobs")).json()["items"] == []


async def test_a_dataset_a_queued_job_needs_cannot_be_deleted(idle: httpx.AsyncClient) -> None:
    created = await idle.post("/datasets", json={"sequences": [[1, 0, 1], [1, 1]]})
    dataset_id = created.json()["id"]
    other = (await idle.post("/datasets", json={"sequences": [[0, 1]]})).json()["id"]
    job = (await idle.post("/train", json={"dataset_id": dataset_id})).json()
    refused = await idle.delete(f"/datasets/{dataset_id}")
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert job["id"] in refused.json()["detail"]
    assert (await idle.get(f"/datasets/{dataset_id}")).status_code == 200
    assert (await idle.delete(f"/datasets/{other}")).status_code == 204  # others are free
    assert (await idle.delete(f"/jobs/{job['id']}")).json()["status"] == "cancelled"
    assert (await idle.delete(f"/datasets/{dataset_id}")).status_code == 204


async def test_the_default_limits_admit_the_promised_jobs(idle: httpx.AsyncClient) -> None:
    big = {"dataset": {"n_samples": 100_000, "length": 100}, "iterations": 100}
    assert (await idle.post("/train", json=big)).status_code == 202
    long = {"iterations": 1_000_000}
    assert (await idle.post("/train", json=long)).status_code == 202


async def test_a_full_queue_answers_429_with_retry_after(idle: httpx.AsyncClient) -> None:
    for _ in range(3):
        assert (await idle.post("/train", json={})).status_code == 202
    response = await idle.post("/train", json={})
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
    assert "max_queued_jobs" in response.json()["detail"]


async def test_delete_cancels_a_queued_job_at_once_and_409s_after(
    idle: httpx.AsyncClient,
) -> None:
    job = (await idle.post("/train", json={})).json()
    response = await idle.delete(f"/jobs/{job['id']}")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    again = await idle.delete(f"/jobs/{job['id']}")
    assert again.status_code == 409
    assert (await idle.delete("/jobs/01AAAAAAAAAAAAAAAAAAAAAAAA")).status_code == 404
    assert (await idle.get("/jobs/not-an-id")).status_code == 404


async def test_delete_stops_a_running_job(client: httpx.AsyncClient) -> None:
    body = {"iterations": 5_000_000, "record_trajectory": False}
    job = (await client.post("/train", json=body)).json()
    for _ in range(500):
        job = (await client.get(f"/jobs/{job['id']}")).json()
        if job["progress"]["iteration"] > 0:
            break
    response = await client.delete(f"/jobs/{job['id']}")
    assert response.status_code == 200
    cancelled = response.json()
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancel_requested"] is True
    assert cancelled["error"]["type"] == "urn:rnnlab:problem:cancelled"


async def test_jobs_list_newest_first_with_cursor_and_status(idle: httpx.AsyncClient) -> None:
    ids = [(await idle.post("/train", json={})).json()["id"] for _ in range(3)]
    await idle.delete(f"/jobs/{ids[0]}")
    first = (await idle.get("/jobs?limit=2")).json()
    assert [job["id"] for job in first["items"]] == [ids[2], ids[1]]
    rest = (await idle.get(f"/jobs?limit=2&cursor={first['next_cursor']}")).json()
    assert [job["id"] for job in rest["items"]] == [ids[0]]
    assert rest["next_cursor"] is None
    cancelled = (await idle.get("/jobs?status=cancelled")).json()
    assert [job["id"] for job in cancelled["items"]] == [ids[0]]
    assert (await idle.get("/jobs?cursor=garbage")).status_code == 422
    assert (await idle.get("/jobs?status=sleeping")).status_code == 422
    assert (await idle.get("/jobs?limit=0")).status_code == 422


async def test_trajectory_in_json_npy_and_csv(client: httpx.AsyncClient) -> None:
    job = (await client.post("/train?wait=30", json={"iterations": 20})).json()
    path = f"/jobs/{job['id']}/trajectory"
    body = (await client.get(path)).json()
    assert len(body["wx"]) == len(body["wrec"]) == len(body["loss"]) == 21
    assert (body["wx"][0], body["wrec"][0]) == (-1.5, 2.0)
    assert body["wx"][-1] == job["result"]["weights"]["wx"]
    npy = await client.get(path, params={"format": "npy"})
    table = np.load(io.BytesIO(npy.content), allow_pickle=False)
    assert table.shape == (21, 3)
    np.testing.assert_array_equal(table[:, 2], body["loss"])
    csv = await client.get(path, headers={"accept": "text/csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.splitlines()
    assert lines[0] == "iteration,wx,wrec,loss"
    assert len(lines) == 22
    assert lines[1].startswith("0,-1.5,2.0,")
    assert (await client.get(path, params={"start": 1})).status_code == 404


async def test_trajectory_thinned_to_max_points_keeps_both_ends(
    client: httpx.AsyncClient,
) -> None:
    job = (await client.post("/train?wait=30", json={"iterations": 1000})).json()
    path = f"/jobs/{job['id']}/trajectory"
    full = (await client.get(path)).json()
    assert full["iteration"] == list(range(1001))
    thin = (await client.get(path, params={"max_points": 11})).json()
    assert thin["iteration"] == list(range(0, 1001, 100))
    assert thin["iterations"] == 1000
    for key in ("wx", "wrec", "loss"):
        assert thin[key] == [full[key][i] for i in thin["iteration"]]
    csv = await client.get(path, params={"max_points": 3, "format": "csv"})
    assert [line.split(",")[0] for line in csv.text.splitlines()] == [
        "iteration",
        "0",
        "500",
        "1000",
    ]
    npy = await client.get(path, params={"max_points": 3, "format": "npy"})
    assert np.load(io.BytesIO(npy.content), allow_pickle=False).shape == (3, 3)
    over = problem(await client.get(path, params={"max_points": 10**9}), 413)
    assert over["limit"]["name"] == "max_path_points"
    problem(await client.get(path, params={"max_points": 1}), 422)


async def test_trajectory_of_unfinished_or_unrecorded_jobs(
    api: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = api
    queued = (await client.post("/train", json={})).json()
    assert (await client.get(f"/jobs/{queued['id']}/trajectory")).status_code == 409
    with InlineWorker(app_state(app).jobs.backend):
        await client.delete(f"/jobs/{queued['id']}")
        bare = await client.post("/train?wait=30", json={"record_trajectory": False})
    assert (await client.get(f"/jobs/{bare.json()['id']}/trajectory")).status_code == 404


async def test_diverged_runs_are_null_with_overflow_flags(client: httpx.AsyncClient) -> None:
    body = {
        "optimizer": {"name": "sgd", "learning_rate": 0.1},
        "initial": {"wx": 1, "wrec": 3},
        "iterations": 50,
    }
    response = await client.post("/train?wait=30", json=body)
    job = no_nan(response)
    assert job["status"] == "succeeded"
    assert job["result"]["diverged"] is True
    assert job["result"]["overflow"] is True
    assert job["result"]["weights"] == {"wx": None, "wrec": None}
    trajectory = no_nan(await client.get(f"/jobs/{job['id']}/trajectory"))
    assert trajectory["overflow"] is True
    assert None in trajectory["wx"]


async def test_no_body_at_all_is_the_tutorials_run(idle: httpx.AsyncClient) -> None:
    for started in (await idle.post("/train"), await idle.post("/train", json={})):
        assert started.status_code == 202
        job = started.json()
        assert started.headers["location"] == f"/jobs/{job['id']}"
        progress = job["progress"]
        assert (progress["iterations"], progress["weights"]) == (500, {"wx": -1.5, "wrec": 2.0})
        assert job["created_at"].endswith("Z")
        assert job["result"] is None  # always present, null until it succeeds


async def test_events_stream_progress_then_one_done(client: httpx.AsyncClient) -> None:
    job = (await client.post("/train", json={"iterations": 100_000})).json()
    events: list[tuple[str, Any]] = []
    gzip = {"accept-encoding": "gzip"}
    async with client.stream("GET", f"/jobs/{job['id']}/events", headers=gzip) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert "content-encoding" not in response.headers  # each event sent as it happens
        name = None
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((str(name), json.loads(line.removeprefix("data: "))))
    names = [name for name, _ in events]
    assert names[-1] == "done"
    assert names.count("done") == 1
    assert "progress" in names
    assert events[-1][1]["status"] == "succeeded"
    assert events[-1][1]["result"]["iterations"] == 100_000
    iterations = [data["progress"]["iteration"] for name, data in events if name == "progress"]
    assert iterations == sorted(iterations)


async def test_events_of_an_ended_job_is_just_done(client: httpx.AsyncClient) -> None:
    job = (await client.post("/train?wait=30", json={})).json()
    response = await client.get(f"/jobs/{job['id']}/events")
    assert response.text.startswith("event: done\n")
    assert (await client.get("/jobs/01AAAAAAAAAAAAAAAAAAAAAAAA/events")).status_code == 404


async def test_predict_with_a_job_id(client: httpx.AsyncClient) -> None:
    job = (await client.post("/train?wait=30", json={})).json()
    body = {"job_id": job["id"], "sequences": [TUTORIAL_SEQUENCE]}
    response = await client.post("/predict", json=body)
    assert response.status_code == 200
    assert round(response.json()["outputs"][0], 5) == 4.99896
    assert response.json()["counts"] == [5]
    missing = {"job_id": "01AAAAAAAAAAAAAAAAAAAAAAAA", "sequences": [[1]]}
    assert (await client.post("/predict", json=missing)).status_code == 404


async def test_predict_with_an_unfinished_job_is_409(idle: httpx.AsyncClient) -> None:
    job = (await idle.post("/train", json={})).json()
    response = await idle.post("/predict", json={"job_id": job["id"], "sequences": [[1]]})
    assert response.status_code == 409


async def test_ready_and_train_are_503_while_the_backend_is_down(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, queue_url=f"redis://127.0.0.1:{free_port()}/0")
    async with running(settings) as (_, client):
        ready = await client.get("/ready")
        assert ready.status_code == 503
        assert ready.headers["content-type"] == "application/problem+json"
        train = await client.post("/train", json={})
        assert train.status_code == 503
        assert "retry-after" in train.headers
        assert (await client.get("/jobs")).status_code == 503
        assert (await client.get("/health")).status_code == 200


async def test_wait_is_cut_to_max_train_wait(tmp_path: Path) -> None:
    async with running(Settings(data_dir=tmp_path, max_train_wait=0.2)) as (_, client):
        response = await client.post("/train?wait=600", json={})
        assert response.status_code == 202
        assert response.json()["status"] == "queued"


@pytest.mark.parametrize("store", ["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def test_finished_jobs_are_404_once_the_retention_has_passed(
    tmp_path: Path, store: str
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        queue_url=redis_or_skip() if store == "redis" else "",
        job_retention_seconds=2.0,
        reaper_interval=0.05,
    )
    async with running(settings) as (app, client):
        jobs: JobService = app_state(app).jobs
        with InlineWorker(jobs.backend):  # (leaving it takes up to 1 s on Redis: BRPOP)
            done = (await client.post("/train?wait=30", json={})).json()
            assert done["status"] == "succeeded"
            assert (await client.get(f"/jobs/{done['id']}")).status_code == 200
        waiting = (await client.post("/train", json={})).json()  # no worker: stays queued
        for _ in range(200):
            gone = await client.get(f"/jobs/{done['id']}")
            if gone.status_code == 404:
                break
            await anyio.sleep(0.05)
        assert problem(gone, 404)["detail"] == f"no job with id {done['id']!r}"
        assert (await client.get(f"/jobs/{done['id']}/trajectory")).status_code == 404
        assert (await client.get(f"/jobs/{done['id']}/figure.png")).status_code == 404
        body = {"job_id": done["id"], "sequences": [TUTORIAL_SEQUENCE]}
        assert (await client.post("/predict", json=body)).status_code == 404
        assert [job["id"] for job in (await client.get("/jobs")).json()["items"]] == [waiting["id"]]
        assert (await client.get(f"/jobs/{waiting['id']}")).json()["status"] == "queued"
