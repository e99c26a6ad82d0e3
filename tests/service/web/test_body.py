"""JSON bodies: counted while they arrive, large ones parsed off the loop, within a budget."""

from __future__ import annotations

import gc
import json
import threading
from pathlib import Path
from typing import Any

import pytest

import service.web.body
from service.config import Settings
from service.deps import app_state
from service.web.body import LARGE_BODY, parse_json
from tests.service._api import problem, running

pytestmark = pytest.mark.anyio


def upload(rows: int, width: int, value: str = "0.5") -> bytes:
    row = "[" + ",".join([value] * width) + "]"
    return ('{"sequences": [' + ",".join([row] * rows) + "]}").encode()


async def test_a_large_body_is_parsed_and_validated_in_a_worker_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[int] = []
    parse = service.web.body.parse_json

    def watched(body: bytes) -> Any:
        threads.append(threading.get_ident())
        return parse(body)

    monkeypatch.setattr(service.web.body, "parse_json", watched)
    body = upload(2_000, 100)
    assert len(body) > LARGE_BODY
    async with running(Settings(data_dir=tmp_path)) as (_, client):
        response = await client.post(
            "/datasets", content=body, headers={"content-type": "application/json"}
        )
    assert response.status_code == 201, response.text
    assert response.json()["n_samples"] == 2_000
    assert threads
    assert threading.get_ident() not in threads
    assert gc.isenabled()  # the collector is back on once the parse is over


@pytest.mark.parametrize("large", [False, True])
@pytest.mark.parametrize(
    ("bad", "loc", "kind"),
    [("true", [7, 3], "float_type"), ('"1"', [7, 3], "float_type"), ("1e400", [7, 3], None)],
)
async def test_a_bad_number_is_named_by_its_row_and_step(
    tmp_path: Path, large: bool, bad: str, loc: list[int], kind: str | None
) -> None:
    rows = [[0.5] * 100 for _ in range(2_000 if large else 10)]
    text = json.dumps({"sequences": rows}).replace("0.5", "@", 1)
    text = text.replace('"sequences": [[@', '"sequences": [[0.5')
    body = json.loads(text.replace("@", "0.5"))
    body["sequences"][7][3] = "@"
    raw = json.dumps(body).replace('"@"', bad).encode()
    assert (len(raw) >= LARGE_BODY) == large
    async with running(Settings(data_dir=tmp_path)) as (_, client):
        response = await client.post(
            "/datasets", content=raw, headers={"content-type": "application/json"}
        )
    error = problem(response, 422)["errors"][0]
    if kind is None and large:  # the incremental parser refuses 1e400 outright
        assert error["loc"] == ["body"]
        assert "overflow" in error["msg"]
        return
    assert error["loc"] == ["body", "sequences", *loc]
    if kind is not None:
        assert error["type"] == kind


async def test_too_many_numbers_are_refused_before_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[int] = []
    monkeypatch.setattr(service.web.body, "parse_json", lambda body: parsed.append(1))
    async with running(Settings(data_dir=tmp_path, max_body_numbers=1_000)) as (_, client):
        response = await client.post(
            "/datasets", content=upload(20, 100), headers={"content-type": "application/json"}
        )
    assert problem(response, 413)["limit"]["name"] == "max_body_numbers"
    assert parsed == []


async def test_bodies_beyond_the_memory_budget_are_503(tmp_path: Path) -> None:
    async with running(Settings(data_dir=tmp_path, max_body_memory=4_000)) as (app, client):
        response = await client.post(
            "/datasets", content=upload(20, 100), headers={"content-type": "application/json"}
        )
        body = problem(response, 503)
        assert "max_body_memory" in body["detail"]
        assert int(response.headers["retry-after"]) > 0
        assert app_state(app).body_budget.held == 0  # given back when the request ended
        ok = await client.post("/datasets", json={"sequences": [[0.5, 1.0]]})
        assert ok.status_code == 201


def test_parse_json_reads_large_bodies_incrementally() -> None:
    body = upload(3_000, 50)
    assert len(body) > LARGE_BODY
    assert parse_json(body) == json.loads(body)
