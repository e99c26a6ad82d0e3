"""Request id, access log, bearer auth and /metrics."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import anyio
import pytest
from pydantic import SecretStr
from starlette.types import Message, Receive, Scope, Send

from service.config import Settings
from service.web.auth import is_public
from service.web.logs import json_formatter
from service.web.middleware import RequestContextMiddleware
from tests.service._api import problem, running

pytestmark = pytest.mark.anyio

LOSS = {"weights": {"wx": 1, "wrec": 1}}


async def test_request_id_is_echoed_or_generated(tmp_path: Path) -> None:
    async with running(Settings(data_dir=tmp_path)) as (_, client):
        echoed = await client.get("/health", headers={"X-Request-ID": "abc-123"})
        generated = await client.get("/health")
        other = await client.get("/health")
        unsafe = await client.get("/health", headers={"X-Request-ID": "x" * 200})
        on_error = await client.get("/nowhere", headers={"X-Request-ID": "err-1"})
    assert echoed.headers["x-request-id"] == "abc-123"
    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["x-request-id"])
    assert generated.headers["x-request-id"] != other.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", unsafe.headers["x-request-id"])
    assert on_error.headers["x-request-id"] == "err-1"


async def test_one_json_access_line_per_request(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rnnlab.access")
    async with running(Settings(data_dir=tmp_path)) as (_, client):
        await client.post("/loss", json=LOSS, headers={"X-Request-ID": "log-1"})
        await client.get("/nowhere", headers={"X-Request-ID": "log-2"})
    formatter = json_formatter()
    lines = [json.loads(formatter.format(r)) for r in caplog.records if r.name == "rnnlab.access"]
    assert [line["request_id"] for line in lines] == ["log-1", "log-2"]
    first, second = lines
    assert (first["method"], first["path"], first["status"]) == ("POST", "/loss", 200)
    assert (second["method"], second["path"], second["status"]) == ("GET", "/nowhere", 404)
    assert all(
        isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0 for line in lines
    )


async def test_bearer_token_protects_everything_but_health_ready_the_page_and_docs(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path, api_token=SecretStr("s3cret"))
    async with running(settings) as (_, client):
        missing = await client.post("/loss", json=LOSS)
        body = problem(missing, 401)
        assert missing.headers["www-authenticate"] == 'Bearer realm="rnnlab"'
        assert "s3cret" not in missing.text
        assert body["type"].endswith(":unauthorized")

        wrong = await client.post("/loss", json=LOSS, headers={"Authorization": "Bearer nope"})
        problem(wrong, 401)
        assert 'error="invalid_token"' in wrong.headers["www-authenticate"]
        basic = await client.post("/loss", json=LOSS, headers={"Authorization": "Basic czNjcmV0"})
        problem(basic, 401)

        good = await client.post("/loss", json=LOSS, headers={"Authorization": "Bearer s3cret"})
        assert good.status_code == 200
        for path in ("/metrics", "/datasets", "/loss-surface", "/jobs"):
            problem(await client.get(path), 401)
        for path in ("/health", "/ready", "/openapi.json", "/"):  # the docs hold no secret
            assert (await client.get(path)).status_code == 200, path
        # Over the body limit or unknown paths: still 401 first for protected paths.
        problem(await client.get("/nowhere"), 401)


def test_public_paths() -> None:
    assert is_public("GET", "/health")
    assert is_public("GET", "/ready")
    assert is_public("GET", "/")
    assert is_public("GET", "/static/app.js")
    assert not is_public("POST", "/")
    assert not is_public("GET", "/metrics")
    assert not is_public("GET", "/healthz")
    assert not is_public("GET", "/static")
    assert is_public("GET", "/openapi.json")
    assert not is_public("POST", "/openapi.json")


async def test_metrics_count_requests_per_route(tmp_path: Path) -> None:
    async with running(Settings(data_dir=tmp_path)) as (_, client):
        for _ in range(3):
            assert (await client.post("/gradient", json=LOSS)).status_code == 200
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    counts = re.findall(
        r'^http_requests_total\{handler="/gradient",method="POST",status="2xx"\} (\S+)$',
        text,
        flags=re.MULTILINE,
    )
    assert counts
    assert float(counts[0]) >= 3
    assert 'http_request_duration_seconds_bucket{handler="/gradient"' in text


async def test_auth_comes_before_the_body_limit(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, api_token=SecretStr("t"), max_body_bytes=10)
    async with running(settings) as (_, client):
        problem(await client.post("/loss", json=LOSS), 401)
        authorized = await client.post("/loss", json=LOSS, headers={"Authorization": "Bearer t"})
        assert problem(authorized, 413)["limit"]["name"] == "max_body_bytes"


async def test_each_app_counts_its_own_requests(tmp_path: Path) -> None:
    pattern = r'^http_requests_total\{handler="/health",method="GET",status="2xx"\} (\S+)$'
    for _ in range(2):
        async with running(Settings(data_dir=tmp_path)) as (_, client):
            await client.get("/health")
            text = (await client.get("/metrics")).text
        assert re.findall(pattern, text, flags=re.MULTILINE) == ["1.0"]


async def test_head_answers_every_get_with_its_headers_and_no_body(tmp_path: Path) -> None:
    async with running(Settings(data_dir=tmp_path)) as (_, client):
        for path in ("/health", "/datasets", "/loss-surface?resolution=4", "/optimizers"):
            got = await client.get(path)
            head = await client.head(path)
            assert head.status_code == 200, path
            assert head.content == b""
            assert head.headers["content-type"] == got.headers["content-type"]
            assert head.headers["content-length"] == got.headers["content-length"]
        refused = await client.head("/loss")  # POST only
        assert refused.status_code == 405
        assert refused.headers["allow"] == "POST"


async def test_large_json_and_csv_are_gzipped_for_clients_that_accept_it(tmp_path: Path) -> None:
    async with running(Settings(data_dir=tmp_path)) as (_, client):
        query = "/loss-surface?resolution=128"
        plain = await client.get(query, headers={"accept-encoding": "identity"})
        for fmt in ("json", "csv"):
            zipped = await client.get(f"{query}&format={fmt}", headers={"accept-encoding": "gzip"})
            assert zipped.headers["content-encoding"] == "gzip", fmt
            assert "Accept-Encoding" in zipped.headers["vary"]
        assert "content-encoding" not in plain.headers
        # httpx inflates it: the same answer either way, in little more than half the bytes.
        zipped = await client.get(query, headers={"accept-encoding": "gzip"})
        assert zipped.json() == plain.json()
        assert zipped.num_bytes_downloaded < 0.6 * len(plain.content)
        npy = await client.get(f"{query}&format=npy", headers={"accept-encoding": "gzip"})
        assert "content-encoding" not in npy.headers  # float64 bits hardly compress
        small = await client.get("/health", headers={"accept-encoding": "gzip"})
        assert "content-encoding" not in small.headers
    async with running(Settings(data_dir=tmp_path, gzip_level=0)) as (_, client):
        off = await client.get(query, headers={"accept-encoding": "gzip"})
        assert "content-encoding" not in off.headers


async def test_cors_is_off_unless_origins_are_configured(tmp_path: Path) -> None:
    preflight = {"origin": "https://lab.example", "access-control-request-method": "POST"}
    async with running(Settings(data_dir=tmp_path)) as (_, client):
        answer = await client.options("/loss", headers=preflight)
        assert "access-control-allow-origin" not in answer.headers
        got = await client.get("/health", headers={"origin": "https://lab.example"})
        assert "access-control-allow-origin" not in got.headers


async def test_configured_origins_get_preflights_and_the_headers_they_need(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        cors_origins=["https://lab.example"],
        api_token=SecretStr("s3cret"),
    )
    preflight = {
        "origin": "https://lab.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
    }
    async with running(settings) as (_, client):
        answer = await client.options("/train", headers=preflight)  # no token asked of it
        assert answer.status_code == 200
        assert answer.headers["access-control-allow-origin"] == "https://lab.example"
        assert "authorization" in answer.headers["access-control-allow-headers"].lower()
        stranger = await client.options(
            "/train", headers={**preflight, "origin": "https://x.example"}
        )
        assert "access-control-allow-origin" not in stranger.headers
        started = await client.post(
            "/train",
            headers={"origin": "https://lab.example", "authorization": "Bearer s3cret"},
        )
        assert started.status_code == 202
        exposed = {h.strip() for h in started.headers["access-control-expose-headers"].split(",")}
        assert {"Location", "Retry-After", "ETag", "X-Overflow", "X-Request-ID"} <= exposed
        refused = await client.post("/train", headers={"origin": "https://lab.example"})
        assert refused.status_code == 401  # an error a page can read
        assert refused.headers["access-control-allow-origin"] == "https://lab.example"


def test_any_origin_is_refused_with_a_token() -> None:
    with pytest.raises(ValueError, match="name the origins"):
        Settings(cors_origins=["*"], api_token=SecretStr("s3cret"))
    assert Settings(cors_origins="https://a.example, https://b.example").cors_origins == [  # type: ignore[arg-type]
        "https://a.example",
        "https://b.example",
    ]


async def test_a_request_cancelled_before_answering_is_logged_499_not_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A client that leaves cancels its request: no answer is sent, and the access log must
    # not report a server error that no client saw (the load campaign counted such 500s).
    caplog.set_level(logging.INFO, logger="rnnlab.access")

    async def cancelled(scope: Scope, receive: Receive, send: Send) -> None:
        raise anyio.get_cancelled_exc_class()

    scope = {"type": "http", "method": "GET", "path": "/slow", "headers": [], "client": None}
    with pytest.raises(anyio.get_cancelled_exc_class()):
        await RequestContextMiddleware(cancelled)(scope, _nothing, _discard)
    (line,) = [r for r in caplog.records if r.name == "rnnlab.access"]
    assert json.loads(json_formatter().format(line))["status"] == 499


async def _nothing() -> Message:
    return {"type": "http.disconnect"}


async def _discard(message: Message) -> None:
    pass
