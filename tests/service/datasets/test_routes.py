"""/datasets over HTTP: create (201 + Location), read, include=data, pages, delete, limits."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

import service.datasets.registry
from core.datasets import generate
from service.config import Settings
from tests.core._reference import TUTORIAL_TARGETS
from tests.service._api import problem, running, strict_json

pytestmark = pytest.mark.anyio

TUTORIAL_SPEC = {"n_samples": 20, "length": 10, "seed": 1, "generator": "legacy"}


async def test_create_from_spec_answers_201_with_location(client: httpx.AsyncClient) -> None:
    response = await client.post("/datasets", json=TUTORIAL_SPEC)
    assert response.status_code == 201
    body = response.json()
    assert response.headers["location"] == f"/datasets/{body['id']}"
    assert body["kind"] == "generated"
    assert (body["n_samples"], body["min_length"], body["max_length"]) == (20, 10, 10)
    assert body["is_binary"] is True
    assert body["spec"] == {**TUTORIAL_SPEC, "min_length": None, "max_length": None, "p_one": 0.5}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", body["created_at"])
    again = await client.post("/datasets", json=dict(reversed(TUTORIAL_SPEC.items())))
    assert again.status_code == 201
    assert again.json() == body


async def test_get_with_include_data_returns_the_tutorial_rows(client: httpx.AsyncClient) -> None:
    created = (await client.post("/datasets", json=TUTORIAL_SPEC)).json()
    summary = await client.get(f"/datasets/{created['id']}")
    assert summary.status_code == 200
    assert summary.json() == created
    assert "sequences" not in summary.json()
    full = await client.get(f"/datasets/{created['id']}", params={"include": "data"})
    assert full.status_code == 200
    body = strict_json(full)
    assert body["targets"] == list(TUTORIAL_TARGETS)
    assert [sum(row) for row in body["sequences"]] == list(TUTORIAL_TARGETS)
    assert all(len(row) == 10 for row in body["sequences"])


async def test_uploaded_ragged_sequences_round_trip(client: httpx.AsyncClient) -> None:
    sequences = [[0.5, -1.25], [3.0, 0.0, 1.0, 2.0], [7.0]]
    response = await client.post("/datasets", json={"sequences": sequences, "targets": [1, 2, 3]})
    assert response.status_code == 201
    created = response.json()
    assert created["kind"] == "uploaded"
    assert (created["min_length"], created["max_length"], created["is_binary"]) == (1, 4, False)
    full = await client.get(response.headers["location"], params={"include": "data"})
    assert full.status_code == 200
    assert full.json()["sequences"] == sequences
    assert full.json()["targets"] == [1.0, 2.0, 3.0]


async def test_uploads_survive_a_restart(tmp_path: Path) -> None:
    async with running(Settings(data_dir=tmp_path)) as (_, client):
        created = (await client.post("/datasets", json={"sequences": [[1, 2], [3]]})).json()
    async with running(Settings(data_dir=tmp_path)) as (_, client):
        response = await client.get(f"/datasets/{created['id']}", params={"include": "data"})
        assert response.status_code == 200
        assert response.json()["sequences"] == [[1.0, 2.0], [3.0]]
        loss = await client.post(
            "/loss", json={"weights": {"wx": 1, "wrec": 1}, "dataset_id": created["id"]}
        )
        assert loss.status_code == 200
        assert loss.json()["loss"] == 0.0  # targets default to the sums, which wx = wrec = 1 gives


async def test_list_is_paginated(client: httpx.AsyncClient) -> None:
    ids = []
    for seed in range(5):
        spec = {"n_samples": 3, "length": 4, "seed": seed}
        ids.append((await client.post("/datasets", json=spec)).json()["id"])
    seen: list[str] = []
    params: dict[str, str | int] = {"limit": 2}
    while True:
        response = await client.get("/datasets", params=params)
        assert response.status_code == 200
        page = response.json()
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        params = {"limit": 2, "cursor": page["next_cursor"]}
    assert seen == ids
    problem(await client.get("/datasets", params={"cursor": "garbage"}), 422)
    problem(await client.get("/datasets", params={"limit": 0}), 422)


async def test_delete(client: httpx.AsyncClient) -> None:
    location = (await client.post("/datasets", json={"sequences": [[1]]})).headers["location"]
    response = await client.delete(location)
    assert response.status_code == 204
    assert response.content == b""
    problem(await client.get(location), 404)
    problem(await client.delete(location), 404)


async def test_unknown_id_is_404_everywhere(client: httpx.AsyncClient) -> None:
    problem(await client.get("/datasets/g-00000000000000000000"), 404)
    body = {"weights": {"wx": 1, "wrec": 1}, "dataset_id": "g-00000000000000000000"}
    problem(await client.post("/loss", json=body), 404)
    params = {"dataset_id": "g-00000000000000000000"}
    problem(await client.get("/loss-surface", params=params), 404)


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"n_samples": 0, "length": 3}, ["body", "n_samples"]),
        ({"n_samples": 2}, ["body"]),
        ({"n_samples": 2, "length": 3, "min_length": 1, "max_length": 3}, ["body"]),
        ({"n_samples": 2, "min_length": 4, "max_length": 3}, ["body"]),
        ({"n_samples": 2, "length": 3, "p_one": 1.0}, ["body", "p_one"]),
        ({"n_samples": 2, "length": 3, "generator": "mt"}, ["body", "generator"]),
        ({"n_samples": False, "length": 3}, ["body", "n_samples"]),
        ({"n_samples": 2.0, "length": 3}, ["body", "n_samples"]),
        ({"sequences": []}, ["body", "sequences"]),
        ({"sequences": [[1], []]}, ["body", "sequences", 1]),
        ({"sequences": [[1], [2]], "targets": [1]}, ["body"]),
        ({"sequences": [[1]], "extra": 1}, ["body", "extra"]),
        ([1, 2], ["body"]),
    ],
)
async def test_invalid_datasets_are_422(
    client: httpx.AsyncClient, body: object, loc: list[str | int]
) -> None:
    errors = problem(await client.post("/datasets", json=body), 422)["errors"]
    assert errors[0]["loc"] == loc


async def test_legacy_seed_beyond_32_bits_is_422_from_core(client: httpx.AsyncClient) -> None:
    body = {"n_samples": 2, "length": 3, "seed": 2**32, "generator": "legacy"}
    errors = problem(await client.post("/datasets", json=body), 422)["errors"]
    assert errors[0]["loc"] == ["body", "seed"]


async def test_over_limit_spec_is_413_before_generating(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    generated: list[object] = []
    monkeypatch.setattr(service.datasets.registry, "generate", lambda *a, **k: generated.append(a))
    response = await client.post("/datasets", json={"n_samples": 10**12, "length": 100})
    body = problem(response, 413)
    assert body["limit"] == {"name": "max_samples", "value": 1_000_000}
    assert "max_samples=1000000" in body["detail"]
    assert body["errors"][0]["loc"] == ["body", "n_samples"]
    product = await client.post("/datasets", json={"n_samples": 1_000_000, "length": 101})
    assert problem(product, 413)["limit"]["name"] == "max_dataset_elements"
    assert generated == []


async def test_include_data_over_its_limit_is_413(tmp_path: Path) -> None:
    async with running(Settings(data_dir=tmp_path, max_include_elements=99)) as (_, client):
        location = (await client.post("/datasets", json=TUTORIAL_SPEC)).headers["location"]
        assert (await client.get(location)).status_code == 200
        body = problem(await client.get(location, params={"include": "data"}), 413)
        assert body["limit"] == {"name": "max_include_elements", "value": 99}


async def test_the_store_limit_is_413(tmp_path: Path) -> None:
    async with running(Settings(data_dir=tmp_path, max_datasets=1)) as (_, client):
        assert (await client.post("/datasets", json={"sequences": [[1]]})).status_code == 201
        body = problem(await client.post("/datasets", json={"sequences": [[2]]}), 413)
        assert body["limit"] == {"name": "max_datasets", "value": 1}


async def test_large_generated_dataset_is_served_as_data(client: httpx.AsyncClient) -> None:
    spec = {"n_samples": 2000, "min_length": 1, "max_length": 30, "seed": 5}
    location = (await client.post("/datasets", json=spec)).headers["location"]
    response = await client.get(location, params={"include": "data"})
    assert response.status_code == 200
    expected = generate(2000, min_length=1, max_length=30, seed=5)
    assert response.json()["sequences"] == expected.sequences()
