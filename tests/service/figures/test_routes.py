"""The figure endpoints and the explorer page, in-process: real images, caching, limits."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pytest

from service.config import Settings
from tests.service._api import running
from tests.service._images import assert_png, assert_svg

pytestmark = pytest.mark.anyio

OVERFLOW_GREY = 200 / 255


def problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    assert body["status"] == status
    return body


# -- the loss surface ----------------------------------------------------------------------


async def test_loss_surface_png_is_the_two_panel_figure(client: httpx.AsyncClient) -> None:
    response = await client.get("/figures/loss-surface.png")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert_png(response.content, 1000, 400)


async def test_loss_surface_svg_parses(client: httpx.AsyncClient) -> None:
    response = await client.get("/figures/loss-surface.svg", params={"points": "1:2,1:-2"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert_svg(response.content)


async def test_windows_size_points_and_a_single_panel(client: httpx.AsyncClient) -> None:
    params = {
        "wx_min": 0,
        "wx_max": 2,
        "wrec_min": 0,
        "wrec_max": 2,
        "resolution": 30,
        "zoom": "false",
        "points": "1:1",
        "width": 500,
        "height": 450,
        "dpi": 90,
    }
    response = await client.get("/figures/loss-surface.png", params=params)
    assert response.status_code == 200
    assert_png(response.content, 500, 450)


async def test_overflowed_regions_render_on_a_long_dataset(client: httpx.AsyncClient) -> None:
    params = {
        "n_samples": 30,
        "length": 2000,
        "seed": 3,
        "wrec_min": -50,
        "wrec_max": 50,
        "resolution": 40,
        "zoom": "false",
        "width": 500,
        "height": 400,
    }
    response = await client.get("/figures/loss-surface.png", params=params)
    assert response.status_code == 200
    pixels = assert_png(response.content, 500, 400)
    grey = np.all(np.abs(pixels[..., :3] - OVERFLOW_GREY) < 0.02, axis=-1)
    assert grey.mean() > 0.1
    svg = await client.get("/figures/loss-surface.svg", params=params)
    assert svg.status_code == 200
    assert_svg(svg.content)


async def test_a_stored_dataset_by_id(client: httpx.AsyncClient) -> None:
    created = await client.post("/datasets", json={"sequences": [[1, 0, 1], [1, 1, 1, 0]]})
    assert created.status_code == 201
    dataset_id = created.json()["id"]
    response = await client.get(
        "/figures/loss-surface.png", params={"dataset_id": dataset_id, "resolution": 20}
    )
    assert response.status_code == 200
    assert_png(response.content, 1000, 400)
    problem(await client.get("/figures/loss-surface.png?dataset_id=nope"), 404)


# -- the gradient over time --------------------------------------------------------------


async def test_gradient_over_time_png_and_svg(client: httpx.AsyncClient) -> None:
    png = await client.get("/figures/gradient-over-time.png")
    assert png.status_code == 200
    assert_png(png.content, 800, 450)
    svg = await client.get("/figures/gradient-over-time.svg", params={"points": "1:2,1:0.5"})
    assert svg.status_code == 200
    root = assert_svg(svg.content)
    assert root.get("width") == "576pt"  # 800 px at 100 dpi


async def test_gradient_over_time_with_overflowing_points(client: httpx.AsyncClient) -> None:
    params = {"n_samples": 30, "length": 2000, "seed": 3, "points": "1:2,1:-2,1:1,1:0.5"}
    response = await client.get("/figures/gradient-over-time.png", params=params)
    assert response.status_code == 200
    assert_png(response.content, 800, 450)


# -- caching ---------------------------------------------------------------------------


async def test_strong_etag_and_304(client: httpx.AsyncClient) -> None:
    first = await client.get("/figures/gradient-over-time.png")
    etag = first.headers["etag"]
    assert etag.startswith('"')
    assert not etag.startswith("W/")
    assert "max-age=" in first.headers["cache-control"]
    again = await client.get("/figures/gradient-over-time.png", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    listed = await client.get(
        "/figures/gradient-over-time.png", headers={"If-None-Match": f'"other", {etag}'}
    )
    assert listed.status_code == 304
    stale = await client.get("/figures/gradient-over-time.png", headers={"If-None-Match": '"x"'})
    assert stale.status_code == 200


async def test_etag_is_a_hash_of_the_canonical_query(client: httpx.AsyncClient) -> None:
    async def etag(path: str, **params: object) -> str:
        response = await client.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.headers["etag"]

    path = "/figures/loss-surface.png"
    default = await etag(path, resolution=10)
    assert await etag(path, resolution=10, wx_min=-3.0, width=1000, zoom="true") == default
    assert await etag(path, resolution=11) != default
    assert await etag(path, resolution=10, points="1:2") != default
    assert await etag(path, resolution=10, n_samples=20, length=10, seed=1) != default
    assert await etag(path.replace(".png", ".svg"), resolution=10) != default


async def test_cache_control_is_private_when_a_token_is_set(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, api_token="s3cret", cache_seconds=60)
    async with running(settings) as (_, client):
        denied = await client.get("/figures/gradient-over-time.png")
        problem(denied, 401)
        response = await client.get(
            "/figures/gradient-over-time.png", headers={"Authorization": "Bearer s3cret"}
        )
        assert response.status_code == 200
        assert response.headers["cache-control"] == "private, max-age=60"


# -- bad input and limits -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "setting"),
    [
        ("width=4001", "figure_max_width"),
        ("height=5000", "figure_max_height"),
        ("dpi=301", "figure_max_dpi"),
        ("resolution=401", "figure_max_resolution"),
        ("resolution=5000", "max_resolution"),
        ("points=" + ",".join(["1:1"] * 33), "figure_max_points"),
    ],
)
async def test_limits_are_413_problems(client: httpx.AsyncClient, query: str, setting: str) -> None:
    body = problem(await client.get(f"/figures/loss-surface.png?{query}"), 413)
    assert body["limit"] == {"name": setting, "value": getattr(Settings(), setting)}


@pytest.mark.parametrize(
    "query",
    [
        "width=99",
        "dpi=0",
        "resolution=1",
        "wx_min=1&wx_max=1",
        "zoom_wrec_min=2&zoom_wrec_max=1",
        "wx_min=-1e308&wx_max=1e308",
        "zoom_wrec_min=-1e308&zoom_wrec_max=1e308",
        "points=1:x",
        "wx_max=inf",
        "n_samples=0",
    ],
)
async def test_bad_values_are_422_problems(client: httpx.AsyncClient, query: str) -> None:
    body = problem(await client.get(f"/figures/loss-surface.png?{query}"), 422)
    assert body["errors"]


async def test_an_unknown_format_is_422(client: httpx.AsyncClient) -> None:
    problem(await client.get("/figures/loss-surface.gif"), 422)


async def test_limits_follow_the_settings(tmp_path: Path) -> None:
    async with running(Settings(data_dir=tmp_path, figure_max_width=600)) as (_, client):
        problem(await client.get("/figures/gradient-over-time.png?width=601"), 413)
        response = await client.get("/figures/gradient-over-time.png?width=600")
        assert response.status_code == 200
        assert_png(response.content, 600, 450)


# -- a job's figure ----------------------------------------------------------------------


async def finished_job(client: httpx.AsyncClient, **body: object) -> dict[str, object]:
    response = await client.post("/train", params={"wait": 60}, json=body)
    assert response.status_code == 200, response.text
    job: dict[str, object] = response.json()
    assert job["status"] == "succeeded"
    return job


async def test_job_figure_of_the_tutorial_run(client: httpx.AsyncClient) -> None:
    job = await finished_job(client)
    response = await client.get(f"/jobs/{job['id']}/figure.png")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert_png(response.content, 1000, 400)
    cached = await client.get(
        f"/jobs/{job['id']}/figure.png", headers={"If-None-Match": response.headers["etag"]}
    )
    assert cached.status_code == 304
    svg = await client.get(f"/jobs/{job['id']}/figure.svg", params={"resolution": 20})
    assert svg.status_code == 200
    assert_svg(svg.content)


async def test_job_figure_draws_every_start(client: httpx.AsyncClient) -> None:
    starts = [{"wx": -1.5, "wrec": 2}, {"wx": 2.5, "wrec": -1}, {"wx": 0.5, "wrec": 0.2}]
    job = await finished_job(client, iterations=100, starts=starts)
    response = await client.get(
        f"/jobs/{job['id']}/figure.png", params={"width": 700, "height": 300}
    )
    assert response.status_code == 200
    assert_png(response.content, 700, 300)


async def test_job_figure_of_a_diverged_sgd_run(client: httpx.AsyncClient) -> None:
    body = {"iterations": 50, "optimizer": {"name": "sgd", "learning_rate": 0.01}}
    response = await client.post("/train", params={"wait": 60}, json=body)
    job = response.json()
    assert job["status"] in {"succeeded", "failed"}
    figure = await client.get(f"/jobs/{job['id']}/figure.png")
    assert figure.status_code == 200
    assert_png(figure.content, 1000, 400)


async def test_job_figure_is_409_until_the_job_ends(idle: httpx.AsyncClient) -> None:
    job = (await idle.post("/train", json={})).json()
    body = problem(await idle.get(f"/jobs/{job['id']}/figure.png"), 409)
    assert "queued" in str(body["detail"])


async def test_job_figure_of_an_unknown_job_is_404(client: httpx.AsyncClient) -> None:
    problem(await client.get("/jobs/01ARZ3NDEKTSV4RRFFQ69G5FAV/figure.png"), 404)
    problem(await client.get("/jobs/nope/figure.svg"), 404)


async def test_job_figure_without_a_trajectory_is_404(client: httpx.AsyncClient) -> None:
    job = await finished_job(client, iterations=20, record_trajectory=False)
    body = problem(await client.get(f"/jobs/{job['id']}/figure.png"), 404)
    assert "trajectory" in str(body["detail"])


async def test_job_figure_limits(client: httpx.AsyncClient) -> None:
    job = await finished_job(client, iterations=10)
    problem(await client.get(f"/jobs/{job['id']}/figure.png?resolution=401"), 413)
    problem(await client.get(f"/jobs/{job['id']}/figure.png?width=5000"), 413)
    problem(await client.get(f"/jobs/{job['id']}/figure.png?resolution=1"), 422)


# -- the explorer page ---------------------------------------------------------------------


async def test_the_explorer_page_and_its_assets(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<canvas id="surface"' in page.text
    for asset, media_type in (
        ("/static/js/main.js", "text/javascript"),
        ("/static/explorer.css", "text/css"),
    ):
        assert asset in page.text
        response = await client.get(asset)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(media_type)
    problem(await client.get("/static/missing.js"), 404)


async def test_the_explorer_is_public_when_a_token_is_set(tmp_path: Path) -> None:
    async with running(Settings(data_dir=tmp_path, api_token="s3cret")) as (_, client):
        assert (await client.get("/")).status_code == 200
        assert (await client.get("/static/js/main.js")).status_code == 200
        problem(await client.get("/loss-surface"), 401)


async def test_the_page_is_not_in_the_openapi_schema_but_figures_are(
    client: httpx.AsyncClient,
) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert "/" not in paths
    assert "/figures/loss-surface.{fmt}" in paths
    assert "/figures/gradient-over-time.{fmt}" in paths
    assert "/jobs/{job_id}/figure.{fmt}" in paths
