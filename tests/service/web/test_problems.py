"""Every error is an RFC 9457 problem: validation, domain errors, routing, body size, crashes."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from core.errors import InvalidInputError
from service.app import create_app
from service.config import Settings
from service.errors import BackendUnavailable, Conflict, NotFound, QueueFull
from tests.service._api import problem, running

pytestmark = pytest.mark.anyio

WEIGHTS_OK = '{"wx": 1, "wrec": 1}'


def _raw(client: httpx.AsyncClient, path: str, body: bytes | str) -> httpx.Request:
    return client.build_request(
        "POST", path, content=body, headers={"content-type": "application/json"}
    )


@pytest.mark.parametrize(
    "value", ["NaN", "Infinity", "-Infinity", "1e400", "-1e999", "9" * 400, "true", '"1.0"']
)
async def test_non_finite_or_mistyped_weight_is_a_422_problem(
    client: httpx.AsyncClient, value: str
) -> None:
    body = f'{{"weights": {{"wx": {value}, "wrec": 1}}}}'
    response = await client.send(_raw(client, "/loss", body))
    problem_body = problem(response, 422)
    assert problem_body["errors"][0]["loc"] == ["body", "weights", "wx"]
    assert problem_body["errors"][0]["msg"]
    assert "input" not in problem_body["errors"][0]  # inputs are never echoed
    assert "NaN" not in response.text
    assert "Infinity" not in response.text


async def test_nan_inside_uploaded_sequences_is_located(client: httpx.AsyncClient) -> None:
    body = f'{{"weights": {WEIGHTS_OK}, "dataset": {{"sequences": [[0, 1], [1, NaN, 0]]}}}}'
    response = await client.send(_raw(client, "/loss", body))
    errors = problem(response, 422)["errors"]
    assert errors[0]["loc"] == ["body", "dataset", "sequences", 1, 1]


async def test_malformed_json_is_a_422_problem(client: httpx.AsyncClient) -> None:
    response = await client.send(_raw(client, "/loss", '{"weights": '))
    body = problem(response, 422)
    assert body["errors"][0]["type"] == "json_invalid"
    assert body["errors"][0]["msg"].startswith("JSON decode error")


async def test_json_body_without_json_content_type_is_a_422_problem(
    client: httpx.AsyncClient,
) -> None:
    request = client.build_request(
        "POST",
        "/loss",
        content=b'{"weights": {"wx": 1, "wrec": 1}}',
        headers={"content-type": "text/plain"},
    )
    body = problem(await client.send(request), 422)
    assert "Content-Type: application/json" in body["detail"]
    assert "text/plain" in body["errors"][0]["msg"]


async def test_missing_required_field_lists_every_error(client: httpx.AsyncClient) -> None:
    response = await client.post("/gradient", json={"weights": {}})
    body = problem(response, 422)
    assert sorted(tuple(e["loc"]) for e in body["errors"]) == [
        ("body", "weights", "wrec"),
        ("body", "weights", "wx"),
    ]
    assert "(and 1 more)" in body["detail"]


async def test_unknown_field_is_rejected(client: httpx.AsyncClient) -> None:
    response = await client.post("/loss", json={"weights": {"wx": 1, "wrec": 1}, "include": 1})
    assert problem(response, 422)["errors"][0]["loc"] == ["body", "include"]


async def test_unknown_path_is_a_404_problem(client: httpx.AsyncClient) -> None:
    body = problem(await client.get("/no/such/thing"), 404)
    assert body["instance"] == "/no/such/thing"
    assert body["type"] == "about:blank"


async def test_wrong_method_is_a_405_problem_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.put("/loss", json={})
    problem(response, 405)
    assert response.headers["allow"] == "POST"


async def test_body_over_max_body_bytes_is_a_413_naming_the_limit(tmp_path: Path) -> None:
    async with running(Settings(data_dir=tmp_path, max_body_bytes=200)) as (_, client):
        big = {"weights": {"wx": 1, "wrec": 1}, "dataset": {"sequences": [[1] * 200]}}
        body = problem(await client.post("/loss", json=big), 413)
        assert body["limit"] == {"name": "max_body_bytes", "value": 200}
        assert "max_body_bytes=200" in body["detail"]
        small = await client.post("/loss", json={"weights": {"wx": 1, "wrec": 1}})
        assert small.status_code == 200


async def test_streamed_body_over_the_limit_is_a_413(tmp_path: Path) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        yield b'{"weights": {"wx": 1, "wrec": 1}, "dataset": {"sequences": [['
        for _ in range(100):
            yield b"1, " * 10
        yield b"1]]}}"

    async with running(Settings(data_dir=tmp_path, max_body_bytes=500)) as (_, client):
        response = await client.post(
            "/loss", content=chunks(), headers={"content-type": "application/json"}
        )
        assert problem(response, 413)["limit"]["name"] == "max_body_bytes"


def _app_with_failing_routes(tmp_path: Path) -> FastAPI:
    app = create_app(Settings(data_dir=tmp_path))

    async def crash() -> None:
        raise RuntimeError("secret internal detail")

    async def core_error() -> None:
        raise InvalidInputError("optimizer.eta_plus", "must be > 1")

    async def missing() -> None:
        raise NotFound("no job with id 'x'")

    async def conflict() -> None:
        raise Conflict("the job already finished")

    async def full() -> None:
        raise QueueFull("queue full", retry_after=7)

    async def down() -> None:
        raise BackendUnavailable("redis does not answer", retry_after=3)

    for path, endpoint in [
        ("/crash", crash),
        ("/core-error", core_error),
        ("/missing", missing),
        ("/conflict", conflict),
        ("/full", full),
        ("/down", down),
    ]:
        app.add_api_route(path, endpoint)
    return app


async def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_domain_errors_map_to_their_statuses(tmp_path: Path) -> None:
    from asgi_lifespan import LifespanManager

    app = _app_with_failing_routes(tmp_path)
    async with LifespanManager(app) as manager, await _client(manager.app) as client:
        body = problem(await client.get("/core-error"), 422)
        assert body["errors"] == [{"loc": ["body", "optimizer", "eta_plus"], "msg": "must be > 1"}]
        assert problem(await client.get("/missing"), 404)["detail"] == "no job with id 'x'"
        assert problem(await client.get("/conflict"), 409)["type"].endswith(":conflict")
        full = await client.get("/full")
        assert problem(full, 429)["type"].endswith(":queue-full")
        assert full.headers["retry-after"] == "7"
        down = await client.get("/down")
        assert problem(down, 503)["detail"] == "redis does not answer"
        assert down.headers["retry-after"] == "3"


async def test_unexpected_error_is_a_500_problem_without_internals(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from asgi_lifespan import LifespanManager

    app = _app_with_failing_routes(tmp_path)
    async with LifespanManager(app) as manager, await _client(manager.app) as client:
        response = await client.get("/crash", headers={"X-Request-ID": "crash-1"})
    body = problem(response, 500)
    assert "secret" not in response.text
    assert body["instance"] == "/crash"
    assert response.headers["x-request-id"] == "crash-1"
    assert any("secret internal detail" in str(r.exc_info) for r in caplog.records if r.exc_info)


async def test_405_allow_lists_every_method_of_the_path(client: httpx.AsyncClient) -> None:
    response = await client.request("OPTIONS", "/datasets/some-id")
    problem(response, 405)
    assert response.headers["allow"] == "DELETE, GET"


async def test_json_body_that_is_not_utf8_is_a_422_problem(client: httpx.AsyncClient) -> None:
    response = await client.send(_raw(client, "/loss", b"\xff\xfe\x00{"))
    assert problem(response, 422)["errors"][0]["type"] == "json_invalid"


async def test_json_nested_too_deeply_is_a_422_problem(client: httpx.AsyncClient) -> None:
    nested = "[" * 5000 + "]" * 5000
    body = b'{"weights": {"wx": 1, "wrec": 1}, "sequences": ' + nested.encode() + b"}"
    response = await client.post(
        "/predict", content=body, headers={"content-type": "application/json"}
    )
    problem_body = problem(response, 422)
    assert "nested too deeply" in problem_body["errors"][0]["msg"]


@pytest.mark.parametrize(
    ("query", "name", "says"),
    [
        ("resoluton=512", "resoluton", "not a parameter"),
        ("nx=10&nx=20", "nx", "2 times"),
    ],
)
async def test_unknown_or_repeated_query_parameters_are_422(
    client: httpx.AsyncClient, query: str, name: str, says: str
) -> None:
    body = problem(await client.get(f"/loss-surface?{query}"), 422)
    assert body["errors"][0]["loc"] == ["query", name]
    assert says in body["errors"][0]["msg"]


async def test_the_explorer_page_keeps_any_state_in_its_url(client: httpx.AsyncClient) -> None:
    response = await client.get("/?lesson=3&wx=1&wx=2")
    assert response.status_code == 200
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"


async def test_every_answer_says_nosniff_and_names_no_server(client: httpx.AsyncClient) -> None:
    for response in (await client.get("/health"), await client.get("/nowhere")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "server" not in response.headers


async def test_a_five_thousand_digit_number_is_named_as_such(client: httpx.AsyncClient) -> None:
    body = '{"weights": {"wx": ' + "1" * 5000 + ', "wrec": 1}}'
    response = await client.post(
        "/loss", content=body, headers={"Content-Type": "application/json"}
    )
    assert "4300 digits" in problem(response, 422)["detail"]
