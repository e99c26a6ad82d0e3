"""/loss, /gradient, /gradient-check, /loss-surface, /gradient-over-time over HTTP.

Expected numbers are the tutorial's (``tests/core/_reference.py``) or independent NumPy
computations.
"""

from __future__ import annotations

import csv
import io
import threading
from pathlib import Path
from typing import Any

import anyio
import httpx
import numpy as np
import pytest

import service.analysis.compute
import service.analysis.routes
from core.datasets import generate, tutorial_dataset
from service.config import Settings
from tests.core._reference import TUTORIAL_VALUES
from tests.service._api import computations, problem, running, strict_json

pytestmark = pytest.mark.anyio

# (wx, wrec) -> (loss, dξ/dwx, dξ/dwrec) on the tutorial dataset (the tests' reference).
REFERENCE = TUTORIAL_VALUES
TUTORIAL_POINTS = [(2.0, 1.0), (1.0, 2.0), (1.0, -2.0), (1.0, 0.0), (1.0, 0.5), (1.0, -0.5)]


def outputs(inputs: np.ndarray, wx: float, wrec: float) -> np.ndarray:
    """Independent forward pass: y = sum_k x_k wx wrec^(n-k)."""
    n = inputs.shape[1]
    return inputs.astype(np.float64) @ (wx * wrec ** np.arange(n - 1, -1, -1.0))


def mse(inputs: np.ndarray, targets: np.ndarray, wx: float, wrec: float) -> float:
    return float(np.mean((targets - outputs(inputs, wx, wrec)) ** 2))


@pytest.mark.parametrize(("point", "expected"), REFERENCE.items())
async def test_loss_and_gradient_match_the_tutorial(
    client: httpx.AsyncClient, point: tuple[float, float], expected: tuple[float, float, float]
) -> None:
    weights = {"wx": point[0], "wrec": point[1]}
    loss = await client.post("/loss", json={"weights": weights})
    assert loss.status_code == 200
    assert round(loss.json()["loss"], 2) == expected[0]
    assert loss.json()["overflow"] is False
    assert "outputs" not in loss.json()
    gradient = await client.post("/gradient", json={"weights": weights})
    assert gradient.status_code == 200
    body = gradient.json()
    assert round(body["loss"], 2) == expected[0]
    assert round(body["gradient"]["wx"], 1) == expected[1]
    assert round(body["gradient"]["wrec"], 1) == expected[2]
    assert "trace" not in body


async def test_outputs_are_the_final_states(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/loss", json={"weights": {"wx": 1, "wrec": 1}, "include_outputs": True}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["loss"] == 0.0  # wx = wrec = 1 counts the ones exactly
    assert body["outputs"] == tutorial_dataset().targets.tolist()


async def test_gradient_trace_doubles_back_in_time_at_1_2(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/gradient", json={"weights": {"wx": 1, "wrec": 2}, "include_trace": True}
    )
    assert response.status_code == 200
    trace = response.json()["trace"]
    assert len(trace) == 11  # k = 0..n
    assert round(trace[10], 1) == 884.3
    assert round(trace[0], 1) == 905523.2
    np.testing.assert_allclose(trace[:-1], 2 * np.array(trace[1:]), rtol=1e-12)


async def test_gradient_check_agrees_at_1_2_1_2(client: httpx.AsyncClient) -> None:
    response = await client.post("/gradient-check", json={"weights": {"wx": 1.2, "wrec": 1.2}})
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert body["overflow"] is False
    for name in ("wx", "wrec"):
        assert np.isclose(body["numeric"][name], body["analytic"][name])
    assert body["max_abs_error"] >= 0
    assert body["max_rel_error"] < 1e-5
    bad_eps = await client.post("/gradient-check", json={"weights": {"wx": 1, "wrec": 1}, "eps": 0})
    assert problem(bad_eps, 422)["errors"][0]["loc"] == ["body", "eps"]


async def test_dataset_reference_forms_agree(client: httpx.AsyncClient) -> None:
    weights = {"wx": 0.7, "wrec": 1.1}
    spec = {"n_samples": 20, "length": 10, "seed": 1, "generator": "legacy"}
    rows = tutorial_dataset().sequences()
    stored = (await client.post("/datasets", json=spec)).json()["id"]
    bodies = [
        {"weights": weights},
        {"weights": weights, "dataset": spec},
        {"weights": weights, "dataset": {"sequences": rows}},
        {"weights": weights, "dataset_id": stored},
    ]
    losses = []
    for body in bodies:
        response = await client.post("/loss", json=body)
        assert response.status_code == 200
        losses.append(response.json()["loss"])
    d = tutorial_dataset()
    assert losses == pytest.approx([mse(d.inputs, d.targets, 0.7, 1.1)] * 4, rel=1e-12)
    both = {"weights": weights, "dataset": spec, "dataset_id": stored}
    problem(await client.post("/loss", json=both), 422)


async def test_points_on_a_dataset_with_known_statistics_skip_the_full_pass(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Long sequences: a lone point takes the forward pass or BPTT; after a surface has
    # computed the stored dataset's statistics, /loss and /gradient answer from them.
    spec = {"n_samples": 300, "length": 400, "seed": 5}
    stored = (await client.post("/datasets", json=spec)).json()["id"]
    body = {"weights": {"wx": 0.9, "wrec": 1.01}, "dataset_id": stored}
    before = [(await client.post(path, json=body)).json() for path in ("/loss", "/gradient")]
    surface = await client.get("/loss-surface", params={"dataset_id": stored, "resolution": 8})
    assert surface.status_code == 200

    def no_reference(*args: object, **kwargs: object) -> None:
        raise AssertionError("the reference path ran although the statistics were known")

    monkeypatch.setattr("core.point.loss", no_reference)
    monkeypatch.setattr("core.point.gradient", no_reference)
    after = [(await client.post(path, json=body)).json() for path in ("/loss", "/gradient")]
    assert after[0]["loss"] == pytest.approx(before[0]["loss"], rel=1e-10)
    assert after[1]["gradient"] == pytest.approx(before[1]["gradient"], rel=1e-10)
    # A trace is BPTT's own: asking for one takes that path whatever is known.
    monkeypatch.undo()
    traced = await client.post("/gradient", json={**body, "include_trace": True})
    assert traced.json()["gradient"] == pytest.approx(before[1]["gradient"], rel=1e-10)


async def test_inline_data_with_targets(client: httpx.AsyncClient) -> None:
    body = {
        "weights": {"wx": 0.5, "wrec": -1.5},
        "dataset": {"sequences": [[1.0, 2.0, -3.0], [0.25]], "targets": [1.0, -2.0]},
        "include_outputs": True,
    }
    response = await client.post("/loss", json=body)
    assert response.status_code == 200
    y1 = ((1.0 * 0.5) * -1.5 + 2.0 * 0.5) * -1.5 + -3.0 * 0.5
    y2 = 0.25 * 0.5
    assert response.json()["outputs"] == pytest.approx([y1, y2], rel=1e-15)
    assert response.json()["loss"] == pytest.approx(((1 - y1) ** 2 + (-2 - y2) ** 2) / 2)


async def test_surface_defaults_reproduce_the_tutorial_overview(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/loss-surface")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = strict_json(response)
    wx, wrec = np.linspace(-3, 3, 50), np.linspace(-3, 3, 50)
    assert body["wx"] == wx.tolist()
    assert body["wrec"] == wrec.tolist()
    loss = np.array(body["loss"])
    assert loss.shape == (50, 50)
    d = tutorial_dataset()
    for i, j in [(0, 0), (10, 37), (49, 49), (25, 24)]:
        assert loss[i, j] == pytest.approx(mse(d.inputs, d.targets, wx[j], wrec[i]), rel=1e-9)
    i, j = np.unravel_index(np.argmin(loss), loss.shape)
    assert body["min"] == {"wx": wx[j], "wrec": wrec[i], "loss": loss[i, j]}
    assert body["overflow"] is False


async def test_surface_cells_at_the_reference_points(client: httpx.AsyncClient) -> None:
    response = await client.get("/loss-surface", params={"resolution": 7})  # -3, -2, ..., 3
    assert response.status_code == 200
    body = response.json()
    for (wx, wrec), (expected, _, _) in REFERENCE.items():
        cell = body["loss"][body["wrec"].index(wrec)][body["wx"].index(wx)]
        assert round(cell, 2) == expected


async def test_surface_window_and_nx_ny(client: httpx.AsyncClient) -> None:
    params = {"wx_min": -0.1, "wx_max": 2.1, "wrec_min": -0.1, "wrec_max": 2.1, "nx": 4, "ny": 3}
    response = await client.get("/loss-surface", params=params)
    assert response.status_code == 200
    body = response.json()
    assert body["wx"] == np.linspace(-0.1, 2.1, 4).tolist()
    assert body["wrec"] == np.linspace(-0.1, 2.1, 3).tolist()
    assert [len(row) for row in body["loss"]] == [4, 4, 4]


async def test_surface_as_npy_and_csv_equals_json(client: httpx.AsyncClient) -> None:
    params = {"nx": 6, "ny": 5, "wx_min": -1, "wx_max": 2}
    as_json = (await client.get("/loss-surface", params=params)).json()
    expected = np.array(as_json["loss"])

    npy = await client.get("/loss-surface", params={**params, "format": "npy"})
    assert npy.status_code == 200
    assert npy.headers["content-type"] == "application/x-npy"
    loaded = np.load(io.BytesIO(npy.content), allow_pickle=False)
    assert loaded.dtype == np.float64
    assert loaded.shape == (5, 6)
    np.testing.assert_array_equal(loaded, expected)

    by_accept = await client.get("/loss-surface", params=params, headers={"Accept": "text/csv"})
    assert by_accept.status_code == 200
    assert by_accept.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(by_accept.text)))
    assert table[0][0] == "wrec/wx"
    assert [float(v) for v in table[0][1:]] == as_json["wx"]
    assert [float(row[0]) for row in table[1:]] == as_json["wrec"]
    np.testing.assert_array_equal([[float(v) for v in row[1:]] for row in table[1:]], expected)

    npy_by_accept = await client.get(
        "/loss-surface", params=params, headers={"Accept": "application/x-npy"}
    )
    assert npy_by_accept.content == npy.content


async def test_overflow_is_null_with_a_flag_in_every_format(client: httpx.AsyncClient) -> None:
    dataset = {"n_samples": 5, "length": 200, "seed": 3}
    window = {"wrec_min": -1000, "wrec_max": 1000, "ny": 3, "wx_min": 0.5, "wx_max": 1.5, "nx": 3}
    params = {**dataset, **window}
    response = await client.get("/loss-surface", params=params)
    assert response.status_code == 200
    body = strict_json(response)  # no NaN / Infinity tokens
    assert body["overflow"] is True
    assert response.headers["x-overflow"] == "true"
    assert body["loss"][0] == [None, None, None]
    assert body["loss"][2] == [None, None, None]
    assert all(isinstance(v, float) for v in body["loss"][1])  # wrec = 0 stays finite
    assert body["min"]["wrec"] == 0.0
    as_csv = await client.get("/loss-surface", params={**params, "format": "csv"})
    table = list(csv.reader(io.StringIO(as_csv.text)))
    assert table[1][1:] == ["", "", ""]
    npy = await client.get("/loss-surface", params={**params, "format": "npy"})
    loaded = np.load(io.BytesIO(npy.content), allow_pickle=False)
    assert not np.isfinite(loaded[0]).any()
    assert np.isfinite(loaded[1]).all()


async def test_gradient_and_loss_overflow_are_null(client: httpx.AsyncClient) -> None:
    spec = {"n_samples": 5, "length": 200, "seed": 3}
    weights = {"wx": 1.0, "wrec": 1000.0}
    loss = await client.post(
        "/loss", json={"weights": weights, "dataset": spec, "include_outputs": True}
    )
    assert loss.status_code == 200
    assert strict_json(loss)["loss"] is None
    assert loss.json()["overflow"] is True
    gradient = await client.post(
        "/gradient", json={"weights": weights, "dataset": spec, "include_trace": True}
    )
    assert gradient.status_code == 200
    body = strict_json(gradient)
    assert body["overflow"] is True
    assert body["gradient"] == {"wx": None, "wrec": None}
    check = await client.post("/gradient-check", json={"weights": weights, "dataset": spec})
    assert check.status_code == 200
    assert strict_json(check)["overflow"] is True


async def test_sequence_trace_rows_sum_to_the_trace(client: httpx.AsyncClient) -> None:
    spec = {"n_samples": 50, "min_length": 3, "max_length": 12, "seed": 4}
    body = {
        "weights": {"wx": 0.8, "wrec": 1.1},
        "dataset": spec,
        "include_trace": True,
        "include_sequence_trace": True,
    }
    response = await client.post("/gradient", json=body)
    assert response.status_code == 200
    payload = strict_json(response)
    rows = np.array(payload["sequence_trace"])
    assert rows.shape == (50, 13)  # one row per sequence, k = 0..n over the padded width
    np.testing.assert_allclose(rows.sum(axis=0), payload["trace"], rtol=1e-12, atol=1e-12)
    assert payload["overflow"] is False
    ds = generate(50, min_length=3, max_length=12, seed=4)
    # dξ/dS_n of sequence i is 2 (y_i - t_i) / N, and each step back multiplies by wrec.
    last = 2 * (outputs(ds.inputs, 0.8, 1.1) - ds.targets) / 50
    np.testing.assert_allclose(rows[:, -1], last, rtol=1e-12)
    np.testing.assert_allclose(rows[:, :-1], 1.1 * rows[:, 1:], rtol=1e-12)
    without = await client.post("/gradient", json={**body, "include_sequence_trace": False})
    assert "sequence_trace" not in without.json()
    assert without.json()["gradient"] == payload["gradient"]


async def test_sequence_trace_over_the_include_limit_is_413(tmp_path: Path) -> None:
    # The tutorial dataset: 20 sequences x (10 + 1) = 220 values.
    weights = {"wx": 1, "wrec": 2}
    async with running(Settings(data_dir=tmp_path, max_include_elements=219)) as (_, client):
        body = problem(
            await client.post(
                "/gradient", json={"weights": weights, "include_sequence_trace": True}
            ),
            413,
        )
        assert body["limit"] == {"name": "max_include_elements", "value": 219}
        assert "RNNLAB_MAX_INCLUDE_ELEMENTS" in body["detail"]
        assert body["errors"][0]["loc"] == ["body", "include_sequence_trace"]
        plain = await client.post("/gradient", json={"weights": weights, "include_trace": True})
        assert plain.status_code == 200  # only the per-sequence trace counts
    async with running(Settings(data_dir=tmp_path, max_include_elements=220)) as (_, client):
        ok = await client.post(
            "/gradient", json={"weights": weights, "include_sequence_trace": True}
        )
        assert ok.status_code == 200
        assert len(ok.json()["sequence_trace"]) == 20


async def test_a_huge_sequence_trace_is_refused_before_computing(tmp_path: Path) -> None:
    body = {
        "weights": {"wx": 1, "wrec": 1},
        "dataset": {"n_samples": 1_000_000, "length": 100},
        "include_sequence_trace": True,
    }
    async with running(Settings(data_dir=tmp_path)) as (app, client):
        started = computations(app)
        limit = problem(await client.post("/gradient", json=body), 413)["limit"]
    assert limit["name"] == "max_include_elements"
    assert started == []  # nothing was generated or computed


async def test_sequence_trace_overflow_is_null_with_the_flag(client: httpx.AsyncClient) -> None:
    # At wrec = 10 the outputs (~1e199) are finite but dξ/dS_k grows tenfold per step back
    # and leaves float64 some 110 steps before k = 0.
    spec = {"n_samples": 5, "length": 200, "seed": 3}
    body = {"weights": {"wx": 1.0, "wrec": 10.0}, "dataset": spec}
    response = await client.post("/gradient", json={**body, "include_sequence_trace": True})
    assert response.status_code == 200
    payload = strict_json(response)
    assert payload["overflow"] is True
    rows = payload["sequence_trace"]
    assert len(rows) == 5
    ds = generate(5, 200, seed=3)
    last = 2 * (outputs(ds.inputs, 1.0, 10.0) - ds.targets) / 5
    for i, row in enumerate(rows):
        assert len(row) == 201
        assert row[0] is None  # overflowed: null, never Infinity
        assert row[-1] == pytest.approx(last[i], rel=1e-12)
        nulls = [value is None for value in row]
        assert nulls == sorted(nulls, reverse=True)  # null from k = 0 up to a point
    everything = await client.post(
        "/gradient",
        json={**body, "weights": {"wx": 1.0, "wrec": 1000.0}, "include_sequence_trace": True},
    )
    assert strict_json(everything)["sequence_trace"] == [[None] * 201] * 5


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"wx_min": 2, "wx_max": 1}, ["query", "wx_max"]),
        ({"wrec_min": 2, "wrec_max": 1}, ["query", "wrec_max"]),
        ({"wx_min": "nan"}, ["query", "wx_min"]),
        ({"wx_max": "inf"}, ["query", "wx_max"]),
        ({"wrec_max": "1e400"}, ["query", "wrec_max"]),
        ({"wx_min": -1e308, "wx_max": 1e308}, ["query", "wx_max"]),
        ({"resolution": 0}, ["query", "resolution"]),
        ({"format": "xml"}, ["query", "format"]),
        ({"length": 5}, ["query", "n_samples"]),
        ({"n_samples": 5}, ["query"]),
        ({"dataset_id": "g-1", "n_samples": 5, "length": 2}, ["query", "dataset_id"]),
        ({"n_samples": 5, "length": 2, "p_one": 0}, ["query", "p_one"]),
    ],
)
async def test_bad_surface_queries_are_422(
    client: httpx.AsyncClient, params: dict[str, object], loc: list[str]
) -> None:
    response = await client.get("/loss-surface", params=params)  # type: ignore[arg-type]
    assert problem(response, 422)["errors"][0]["loc"] == loc


@pytest.mark.parametrize(
    ("params", "limits", "name", "loc"),
    [
        ({"resolution": 11}, {"max_resolution": 10}, "max_resolution", ["query", "resolution"]),
        ({"nx": 11, "ny": 2}, {"max_resolution": 10}, "max_resolution", ["query", "nx"]),
        ({"nx": 10, "ny": 11}, {"max_grid_points": 100}, "max_grid_points", ["query"]),
        (
            {"resolution": 10},
            {"max_compute_seconds": 1e-9},
            "max_compute_seconds",
            ["query", "resolution"],
        ),
        (
            {"n_samples": 11, "length": 2},
            {"max_samples": 10},
            "max_samples",
            ["query", "n_samples"],
        ),
        ({"n_samples": 2, "length": 11}, {"max_length": 10}, "max_length", ["query", "length"]),
    ],
)
async def test_surface_limits_are_413_naming_the_limit(
    tmp_path: Path,
    params: dict[str, int],
    limits: dict[str, int],
    name: str,
    loc: list[str],
) -> None:
    async with running(Settings(data_dir=tmp_path, **limits)) as (_, client):  # type: ignore[arg-type]
        body = problem(await client.get("/loss-surface", params=params), 413)
    assert body["limit"]["name"] == name
    assert body["limit"]["value"] == next(iter(limits.values()))
    assert f"RNNLAB_{name.upper()}" in body["detail"]
    assert body["errors"][0]["loc"] == loc


async def test_huge_requests_are_refused_before_computing(tmp_path: Path) -> None:
    async with running(Settings(data_dir=tmp_path)) as (app, client):
        started = computations(app)
        for params in (
            {"resolution": 100_000},
            {"nx": 4096, "ny": 4096},
            {"n_samples": 10_000, "length": 5000, "resolution": 1024},  # past the fast path
            {"n_samples": 10**15, "length": 10**9},
        ):
            assert (await client.get("/loss-surface", params=params)).status_code == 413
    assert started == []


async def test_gradient_over_time_defaults_to_the_tutorial_points(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/gradient-over-time")
    assert response.status_code == 200
    body = strict_json(response)
    assert body["timesteps"] == list(range(11))
    assert [(s["wx"], s["wrec"]) for s in body["series"]] == TUTORIAL_POINTS
    at_1_2 = body["series"][1]["grad"]
    assert round(at_1_2[10], 1) == 884.3
    assert round(at_1_2[0], 1) == 905523.2
    assert all(len(s["grad"]) == 11 for s in body["series"])
    assert body["overflow"] is False


async def test_gradient_over_time_equals_the_bptt_trace(client: httpx.AsyncClient) -> None:
    spec = {"n_samples": 40, "min_length": 3, "max_length": 12, "seed": 8}
    response = await client.get("/gradient-over-time", params={"points": "0.5:-1.5, 2:0.9", **spec})
    assert response.status_code == 200
    series = response.json()["series"]
    for s in series:
        trace = await client.post(
            "/gradient",
            json={
                "weights": {"wx": s["wx"], "wrec": s["wrec"]},
                "dataset": spec,
                "include_trace": True,
            },
        )
        np.testing.assert_allclose(s["grad"], trace.json()["trace"], rtol=1e-10)
    assert [(s["wx"], s["wrec"]) for s in series] == [(0.5, -1.5), (2.0, 0.9)]


async def test_gradient_over_time_overflow_is_per_series(client: httpx.AsyncClient) -> None:
    params = {"points": "1:1000,1:0.5", "n_samples": 4, "length": 200, "seed": 1}
    response = await client.get("/gradient-over-time", params=params)
    assert response.status_code == 200
    body = strict_json(response)
    assert body["overflow"] is True
    assert [s["overflow"] for s in body["series"]] == [True, False]
    assert None in body["series"][0]["grad"]


@pytest.mark.parametrize(
    ("points", "index"), [("1:2,3", 1), ("1:2,a:b", 1), ("nan:1", 0), ("1:inf", 0), (":", 0)]
)
async def test_bad_points_are_422_naming_the_pair(
    client: httpx.AsyncClient, points: str, index: int
) -> None:
    response = await client.get("/gradient-over-time", params={"points": points})
    assert problem(response, 422)["errors"][0]["loc"] == ["query", "points", index]


async def test_too_many_points_is_413(tmp_path: Path) -> None:
    async with running(Settings(data_dir=tmp_path, max_points=3)) as (_, client):
        ok = await client.get("/gradient-over-time", params={"points": "1:1,1:2,1:3"})
        assert ok.status_code == 200
        response = await client.get("/gradient-over-time", params={"points": "1:1,1:2,1:3,1:4"})
        assert problem(response, 413)["limit"] == {"name": "max_points", "value": 3}


async def test_health_answers_while_a_surface_computes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The computation runs in a thread: the event loop answers others meanwhile."""
    release = threading.Event()
    computing = threading.Event()
    surface = service.analysis.compute.surface

    def held_surface(*args: Any, **kwargs: Any) -> Any:
        computing.set()
        assert release.wait(30), "the test never let the surface finish"
        return surface(*args, **kwargs)

    monkeypatch.setattr(service.analysis.compute, "surface", held_surface)
    async with running(Settings(data_dir=tmp_path)) as (_, client):
        results: list[int] = []

        async def get_surface() -> None:
            results.append((await client.get("/loss-surface")).status_code)

        async with anyio.create_task_group() as tg:
            tg.start_soon(get_surface)
            await anyio.to_thread.run_sync(computing.wait, 30)
            health = await client.get("/health")  # answered while the surface is held
            assert health.json() == {"status": "ok"}
            assert results == []
            release.set()
    assert results == [200]


async def test_a_computation_past_its_budget_is_stopped_with_a_413(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the size estimate cannot foresee, the runtime budget still bounds."""
    params = {"n_samples": 2000, "length": 5000, "resolution": 30}  # 30 passes over 10^7 values
    monkeypatch.setattr(service.analysis.routes, "check_budget", lambda *args: None)
    async with running(Settings(data_dir=tmp_path, max_compute_seconds=0.05)) as (app, client):
        started = computations(app)
        body = problem(await client.get("/loss-surface", params=params), 413)
    assert body["limit"]["name"] == "max_compute_seconds"
    assert "stopped" in body["detail"]
    assert started  # it did start, and was stopped


async def test_generated_dataset_matches_an_independent_forward_pass(
    client: httpx.AsyncClient,
) -> None:
    spec = {"n_samples": 300, "min_length": 2, "max_length": 25, "seed": 11, "p_one": 0.3}
    d = generate(300, min_length=2, max_length=25, seed=11, p_one=0.3)
    response = await client.post(
        "/loss", json={"weights": {"wx": 0.9, "wrec": 1.05}, "dataset": spec}
    )
    assert response.status_code == 200
    assert response.json()["loss"] == pytest.approx(mse(d.inputs, d.targets, 0.9, 1.05), rel=1e-12)
