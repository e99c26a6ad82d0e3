"""The real server: `rnnlab serve` on a free loopback port, spoken to over TCP."""

from __future__ import annotations

import io
import signal
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.service._api import live_server

pytestmark = pytest.mark.slow


def test_rnnlab_serve_answers_over_tcp_and_stops_on_sigterm(tmp_path: Path) -> None:
    with live_server(tmp_path) as (base, proc), httpx.Client(base_url=base, timeout=30) as client:
        gradient = client.post(
            "/gradient", json={"weights": {"wx": 2, "wrec": 1}}, headers={"X-Request-ID": "e2e"}
        )
        assert gradient.status_code == 200
        assert gradient.headers["x-request-id"] == "e2e"
        assert round(gradient.json()["gradient"]["wrec"], 1) == 467.2

        npy = client.get("/loss-surface", params={"resolution": 512, "format": "npy"})
        assert npy.status_code == 200
        surface = np.load(io.BytesIO(npy.content), allow_pickle=False)
        assert surface.shape == (512, 512)
        assert surface.dtype == np.float64

        bad = client.post(
            "/loss",
            content=b'{"weights": {"wx": NaN, "wrec": 1}}',
            headers={"content-type": "application/json"},
        )
        assert bad.status_code == 422
        assert bad.headers["content-type"] == "application/problem+json"

        created = client.post("/datasets", json={"sequences": [[1, 2], [3]]})
        assert created.status_code == 201
        assert client.get(created.headers["location"]).status_code == 200

        metrics = client.get("/metrics")
        assert metrics.status_code == 200
        assert 'handler="/gradient"' in metrics.text

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0


def test_stored_datasets_survive_a_server_restart(tmp_path: Path) -> None:
    with live_server(tmp_path) as (base, _):
        location = httpx.post(f"{base}/datasets", json={"sequences": [[0.5], [1, 2, 3]]}).headers[
            "location"
        ]
    with live_server(tmp_path) as (base, _):
        response = httpx.get(f"{base}{location}", params={"include": "data"})
        assert response.status_code == 200
        assert response.json()["sequences"] == [[0.5], [1.0, 2.0, 3.0]]


def test_token_is_required_over_tcp(tmp_path: Path) -> None:
    with live_server(tmp_path, RNNLAB_API_TOKEN="tcp-token") as (base, _):
        assert httpx.get(f"{base}/health").status_code == 200
        denied = httpx.post(f"{base}/loss", json={"weights": {"wx": 1, "wrec": 1}})
        assert denied.status_code == 401
        assert denied.headers["www-authenticate"].startswith("Bearer")
        allowed = httpx.post(
            f"{base}/loss",
            json={"weights": {"wx": 1, "wrec": 1}},
            headers={"Authorization": "Bearer tcp-token"},
        )
        assert allowed.status_code == 200
