"""POST /runs in-process: short runs answered in the request, their limits and thinning."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi import FastAPI

from service.config import Settings
from service.deps import app_state
from tests.service._api import computations, problem, running
from tests.service._jobs import InlineWorker

pytestmark = pytest.mark.anyio

LIMITS = {"max_run_iterations": 2000, "max_run_starts": 3, "max_path_points": 500}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running(Settings(data_dir=tmp_path, **LIMITS)) as pair:  # type: ignore[arg-type]
        yield pair


def no_nan(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    assert "NaN" not in response.text
    assert "Infinity" not in response.text
    return response.json()


async def test_the_tutorial_run_answered_at_once(idle: httpx.AsyncClient) -> None:
    body = no_nan(await idle.post("/runs", json={}))
    assert body["iterations"] == 500
    assert body["max_points"] is None
    (run,) = body["starts"]
    assert run["outcome"] == "completed"
    assert run["initial"] == {"wx": -1.5, "wrec": 2.0}
    assert round(run["weights"]["wx"], 4) == 1.0014
    assert round(run["weights"]["wrec"], 4) == 0.9997
    path = run["path"]
    assert run["points"] == 501
    assert path["iteration"] == list(range(501))
    assert (path["wx"][0], path["wrec"][0]) == (-1.5, 2.0)
    assert path["loss"][-1] == run["loss"]
    steps = np.hypot(np.diff(path["wx"]), np.diff(path["wrec"]))
    assert path["step"][0] == 0
    np.testing.assert_allclose(path["step"][1:], steps, rtol=1e-12)
    # The tutorial's RProp: the first step shrinks delta0 = 0.001 by eta_minus on each weight.
    assert path["step"][1] == pytest.approx(np.hypot(0.0005, 0.0005))


async def test_a_run_and_a_job_of_the_same_fields_take_the_same_path(
    client: httpx.AsyncClient,
) -> None:
    fields = {
        "optimizer": {"name": "irprop+", "eta_plus": 1.3},
        "dataset": {"n_samples": 30, "min_length": 3, "max_length": 9, "seed": 5},
        "starts": [{"wx": -1.5, "wrec": 2}, {"wx": 2, "wrec": -1}],
        "iterations": 300,
        "tolerance": 1e-9,
    }
    run = no_nan(await client.post("/runs", json=fields))
    job = (await client.post("/train?wait=60", json=fields)).json()
    assert job["status"] == "succeeded"
    for start, (mine, theirs) in enumerate(
        zip(run["starts"], job["result"]["starts"], strict=True)
    ):
        for key in ("weights", "loss", "iterations", "converged", "diverged", "initial"):
            assert mine[key] == theirs[key], key
        path = (await client.get(f"/jobs/{job['id']}/trajectory", params={"start": start})).json()
        for key in ("wx", "wrec", "loss"):
            assert mine["path"][key] == path[key], key


async def test_long_runs_are_thinned_with_both_ends_kept(idle: httpx.AsyncClient) -> None:
    body = {"optimizer": {"name": "rprop-"}, "iterations": 2000}
    full = no_nan(await idle.post("/runs", json=body))["starts"][0]
    thin = no_nan(await idle.post("/runs", params={"max_points": 50}, json=body))["starts"][0]
    assert thin["points"] == full["points"] == 2001
    iteration = thin["path"]["iteration"]
    assert len(iteration) == 50
    assert (iteration[0], iteration[-1]) == (0, 2000)
    assert np.all(np.diff(iteration) > 0)
    for key in ("wx", "wrec", "loss", "step"):
        assert thin["path"][key] == [full["path"][key][i] for i in iteration], key
    assert thin["weights"] == full["weights"]


async def test_gradient_descent_off_the_map_is_diverged_not_succeeded(
    idle: httpx.AsyncClient,
) -> None:
    body = {
        "optimizer": {"name": "sgd", "learning_rate": 0.1},
        "initial": {"wx": 1, "wrec": 3},
        "iterations": 50,
    }
    run = no_nan(await idle.post("/runs", json=body))
    assert run["overflow"] is True
    (start,) = run["starts"]
    assert start["outcome"] == "diverged"
    assert start["weights"] == {"wx": None, "wrec": None}
    assert start["iterations"] < 50  # training stops once the weights leave float64
    assert None in start["path"]["wx"]


async def test_converged_runs_say_so(idle: httpx.AsyncClient) -> None:
    body = {"optimizer": {"name": "irprop-"}, "iterations": 2000, "tolerance": 1e-3}
    (start,) = no_nan(await idle.post("/runs", json=body))["starts"]
    assert start["outcome"] == "converged"
    assert start["loss"] <= 1e-3
    assert start["points"] == start["iterations"] + 1 < 2001


@pytest.mark.parametrize(
    ("body", "params", "limit"),
    [
        ({"iterations": 2001}, {}, "max_run_iterations"),
        ({"starts": [{"wx": 0, "wrec": 0}] * 4}, {}, "max_run_starts"),
        ({}, {"max_points": 501}, "max_path_points"),
    ],
)
async def test_sizes_over_a_limit_are_413_before_any_work(
    api: tuple[FastAPI, httpx.AsyncClient],
    body: dict[str, Any],
    params: dict[str, Any],
    limit: str,
) -> None:
    app, client = api
    started = computations(app)
    answer = problem(await client.post("/runs", params=params, json=body), 413)
    assert answer["limit"]["name"] == limit
    assert started == []


async def test_a_run_estimated_over_the_budget_is_413_before_any_work(tmp_path: Path) -> None:
    # The estimate depends on the run's size alone, not on this machine's speed.
    body = {"dataset": {"n_samples": 10_000, "length": 1000}, "iterations": 2000}
    settings = Settings(data_dir=tmp_path, max_compute_seconds=0.001, **LIMITS)  # type: ignore[arg-type]
    async with running(settings) as (app, client):
        started = computations(app)
        answer = problem(await client.post("/runs", json=body), 413)
    assert answer["limit"]["name"] == "max_compute_seconds"
    assert started == []


@pytest.mark.parametrize(
    ("body", "params"),
    [
        ({"optimizer": {"name": "adam"}}, {}),
        ({"optimizer": {"name": "rprop", "eta_plus": 0.5}}, {}),
        ({"optimizer": {"name": "sgd", "learning_rate": 0}}, {}),
        ({"iterations": 0}, {}),
        ({"starts": []}, {}),
        ({"initial": {"wx": "NaN", "wrec": 1}}, {}),
        ({"record_trajectory": False}, {}),
        ({"dataset_id": "g-x", "dataset": {"n_samples": 2, "length": 2}}, {}),
        ({}, {"max_points": 1}),
        ({}, {"max_points": "all"}),
    ],
)
async def test_bad_input_is_422(
    idle: httpx.AsyncClient, body: dict[str, Any], params: dict[str, Any]
) -> None:
    problem(await idle.post("/runs", params=params, json=body), 422)


async def test_an_unknown_dataset_is_404(idle: httpx.AsyncClient) -> None:
    problem(await idle.post("/runs", json={"dataset_id": "u-00000000000000000000"}), 404)


async def test_a_run_creates_no_job(api: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = api
    with InlineWorker(app_state(app).jobs.backend):
        no_nan(await client.post("/runs", json={"iterations": 10}))
    assert (await client.get("/jobs")).json()["items"] == []
