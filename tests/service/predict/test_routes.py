"""/predict: outputs and counts for sequences of any length."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pytest

from service.config import Settings
from tests.core._reference import RPROP_END, TEST_OUTPUT, TEST_SEQUENCE
from tests.service._api import problem, running, strict_json

pytestmark = pytest.mark.anyio

TRAINED = dict(zip(("wx", "wrec"), RPROP_END, strict=True))  # the tutorial's RProp result


def final_state(sequence: list[float], wx: float, wrec: float) -> float:
    s = 0.0
    for x in sequence:
        s = s * wrec + x * wx
    return s


async def test_the_tutorial_test_sequence_counts_five(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/predict", json={"weights": TRAINED, "sequences": [list(TEST_SEQUENCE)]}
    )
    assert response.status_code == 200
    body = response.json()
    assert f"{body['outputs'][0]:.5f}" == f"{TEST_OUTPUT:.5f}"
    assert body["counts"] == [5]
    assert body["weights"] == TRAINED
    assert body["overflow"] is False


async def test_ragged_real_sequences_of_any_length(client: httpx.AsyncClient) -> None:
    rng = np.random.default_rng(0)
    sequences = [rng.normal(size=n).tolist() for n in (1, 3, 250, 10_000)]
    weights = {"wx": 0.8, "wrec": -0.999}
    response = await client.post("/predict", json={"weights": weights, "sequences": sequences})
    assert response.status_code == 200
    expected = [final_state(s, 0.8, -0.999) for s in sequences]
    assert response.json()["outputs"] == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert response.json()["counts"] == [round(y) for y in expected]


async def test_overflow_gives_null_output_and_count(client: httpx.AsyncClient) -> None:
    body = {"weights": {"wx": 1, "wrec": 10}, "sequences": [[1] * 400, [1, 1]]}
    response = await client.post("/predict", json=body)
    assert response.status_code == 200
    result = strict_json(response)
    assert result["outputs"] == [None, 11.0]
    assert result["counts"] == [None, 11]
    assert result["overflow"] is True


@pytest.mark.parametrize(
    "body",
    [
        {"sequences": [[1]]},
        {"weights": {"wx": 1, "wrec": 1}, "job_id": "j", "sequences": [[1]]},
        {"weights": {"wx": 1, "wrec": 1}, "sequences": []},
        {"weights": {"wx": 1, "wrec": 1}, "sequences": [[]]},
        {"weights": {"wx": 1, "wrec": 1}, "sequences": [[1, "a"]]},
        {"weights": {"wx": 1, "wrec": 1}},
    ],
)
async def test_invalid_predictions_are_422(client: httpx.AsyncClient, body: object) -> None:
    problem(await client.post("/predict", json=body), 422)


async def test_job_id_of_an_unknown_job_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/predict", json={"job_id": "01M8N5EGYCBYAJX83TTQ2K8NT2", "sequences": [[1]]}
    )
    problem(response, 404)


async def test_job_id_of_a_job_that_has_not_succeeded_is_409(idle: httpx.AsyncClient) -> None:
    queued = (await idle.post("/train", json={})).json()["id"]  # no worker runs it here
    response = await idle.post("/predict", json={"job_id": queued, "sequences": [[1]]})
    assert "queued" in problem(response, 409)["detail"]


@pytest.mark.parametrize(
    ("sequences", "limits", "name"),
    [
        ([[1]] * 4, {"max_predict_sequences": 3}, "max_predict_sequences"),
        ([[1], [1] * 6], {"max_sequence_length": 5}, "max_sequence_length"),
        ([[1] * 5, [1], [1]], {"max_predict_elements": 14}, "max_predict_elements"),
    ],
)
async def test_limits_are_413(
    tmp_path: Path, sequences: list[list[int]], limits: dict[str, int], name: str
) -> None:
    async with running(Settings(data_dir=tmp_path, **limits)) as (_, client):  # type: ignore[arg-type]
        body = {"weights": {"wx": 1, "wrec": 1}, "sequences": sequences}
        assert problem(await client.post("/predict", json=body), 413)["limit"]["name"] == name
