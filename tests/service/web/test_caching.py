"""Answers that depend only on their query: strong ETags, 304 before any work, Cache-Control."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from service.config import Settings
from service.web.caching import etag_of
from tests.service._api import computations, running

pytestmark = pytest.mark.anyio

CACHED = [
    "/loss-surface?resolution=8",
    "/loss-surface?resolution=8&format=npy",
    "/gradient-over-time?points=1:2,1:0.5",
    "/figures/gradient-over-time.svg",
]


@pytest.mark.parametrize("path", CACHED)
async def test_a_known_etag_is_answered_304_without_computing(tmp_path: Path, path: str) -> None:
    async with running(Settings(data_dir=tmp_path)) as (app, client):
        first = await client.get(path)
        assert first.status_code == 200
        etag = first.headers["etag"]
        assert etag.startswith('"')  # strong: the same bytes every time
        assert first.headers["cache-control"] == "public, max-age=3600"
        ran = computations(app)
        again = await client.get(path, headers={"if-none-match": f'"stale", {etag}'})
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == etag
        assert ran == []
        fresh = await client.get(path)
        assert fresh.headers["etag"] == etag
        assert fresh.content == first.content


async def test_the_etag_follows_the_query_and_the_representation(
    client: httpx.AsyncClient,
) -> None:
    tags = {
        (await client.get(path)).headers["etag"]
        for path in (
            "/loss-surface?resolution=8",
            "/loss-surface?resolution=9",
            "/loss-surface?resolution=8&format=csv",
            "/loss-surface?resolution=8&n_samples=5&length=3",
        )
    }
    assert len(tags) == 4
    by_accept = await client.get("/loss-surface?resolution=8", headers={"accept": "text/csv"})
    assert by_accept.headers["vary"].startswith("Accept")
    assert by_accept.headers["etag"] in tags


async def test_a_stored_dataset_is_revalidated_and_a_new_one_is_another(
    client: httpx.AsyncClient,
) -> None:
    spec = {"n_samples": 3, "length": 4, "seed": 9}
    stored = (await client.post("/datasets", json=spec)).json()
    path = f"/datasets/{stored['id']}"
    first = await client.get(path)
    with_data = await client.get(path + "?include=data")
    assert first.headers["etag"] != with_data.headers["etag"]
    assert (
        await client.get(path, headers={"if-none-match": first.headers["etag"]})
    ).status_code == 304
    assert (await client.delete(path)).status_code == 204
    gone = await client.get(path, headers={"if-none-match": first.headers["etag"]})
    assert gone.status_code == 404  # never a 304 for what is not there
    await client.post("/datasets", json=spec)  # the same id, stored anew
    again = await client.get(path)
    assert again.headers["etag"] != first.headers["etag"]


async def test_answers_behind_a_token_are_private_and_caching_can_be_off(tmp_path: Path) -> None:
    guarded = Settings(data_dir=tmp_path, api_token=SecretStr("s3cret"), cache_seconds=60)
    async with running(guarded) as (_, client):
        answer = await client.get(
            "/loss-surface?resolution=4", headers={"authorization": "Bearer s3cret"}
        )
        assert answer.headers["cache-control"] == "private, max-age=60"
    async with running(Settings(data_dir=tmp_path, cache_seconds=0)) as (_, client):
        answer = await client.get("/loss-surface?resolution=4")
        assert answer.headers["cache-control"] == "no-cache"
        assert "etag" in answer.headers  # still revalidated


def test_the_code_version_is_part_of_the_etag() -> None:
    key = {"of": "loss-surface", "grid": [1, 2]}
    assert etag_of(key, "1.0") != etag_of(key, "1.1")
    assert etag_of(key, "1.0") == etag_of(dict(reversed(key.items())), "1.0")
