"""Retries: which failures are retried, how long each wait is, and when it gives up.

Every scenario is a scripted sequence of answers (httpx.MockTransport) and the waits are
recorded by an injected sleep: nothing here waits for real or depends on a clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import httpx
import pytest

from rnnlab_client._http import (
    AsyncHTTP,
    Request,
    Retries,
    SyncHTTP,
    as_retries,
    base_url,
    default_headers,
    parse_retry_after,
    problem_error,
)
from rnnlab_client.errors import ConnectionFailedError, ProblemError

Answer = httpx.Response | Exception


def _problem(status: int, retry_after: str | None = None) -> httpx.Response:
    headers = {"X-Request-ID": f"req-{status}"}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    body = {"type": "urn:rnnlab:problem:busy", "title": "Busy", "status": status, "detail": "d"}
    return httpx.Response(
        status, json=body, headers={**headers, "content-type": "application/problem+json"}
    )


class Script:
    """A transport answering from a list, and recording the requests it saw."""

    def __init__(self, answers: list[Answer]) -> None:
        self.answers: Iterator[Answer] = iter(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = next(self.answers)
        if isinstance(answer, Exception):
            raise answer
        # A fresh copy: a template may be listed more than once, a body is read once.
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)


def _sync(
    answers: list[Answer], retries: Retries, rng: Callable[[], float] = lambda: 0.5
) -> tuple[SyncHTTP, Script, list[float]]:
    script = Script(answers)
    waits: list[float] = []
    client = httpx.Client(base_url="http://rnnlab.test", transport=httpx.MockTransport(script))
    return SyncHTTP(client, retries, sleep=waits.append, rng=rng), script, waits


OK = httpx.Response(200, json={"status": "ok"})
GET = Request("GET", "/health")
TRAIN = Request("POST", "/train", json={}, idempotent=False)


def test_429_and_503_are_retried_after_the_seconds_retry_after_asks() -> None:
    http, script, waits = _sync([_problem(429, "2"), _problem(503, "7"), OK], Retries(total=3))
    assert http.send(GET).json() == {"status": "ok"}
    assert waits == [2.0, 7.0]
    assert len(script.requests) == 3


def test_without_retry_after_the_wait_is_jittered_exponential_backoff() -> None:
    answers: list[Answer] = [_problem(503), _problem(503), _problem(503), OK]
    draws = iter([1.0, 0.5, 0.25])
    http, _, waits = _sync(answers, Retries(total=3, backoff=0.5, max_wait=30), lambda: next(draws))
    http.send(GET)
    # attempt n waits rng() x min(max_wait, backoff x 2**n)
    assert waits == [1.0 * 0.5, 0.5 * 1.0, 0.25 * 2.0]


def test_backoff_is_capped_at_max_wait() -> None:
    policy = Retries(total=10, backoff=1.0, max_wait=4.0)
    assert [policy.wait(n, None, lambda: 1.0) for n in range(5)] == [1.0, 2.0, 4.0, 4.0, 4.0]


def test_the_retries_are_bounded_and_the_last_problem_is_raised_with_its_fields() -> None:
    http, script, waits = _sync([_problem(429, "1")] * 3, Retries(total=2))
    with pytest.raises(ProblemError) as raised:
        http.send(GET)
    assert len(script.requests) == 3
    assert waits == [1.0, 1.0]
    error = raised.value
    assert (error.status, error.type, error.title, error.detail) == (
        429,
        "urn:rnnlab:problem:busy",
        "Busy",
        "d",
    )
    assert error.request_id == "req-429"
    assert error.retry_after == 1.0


def test_a_retry_after_longer_than_max_wait_is_not_waited_for() -> None:
    http, script, waits = _sync([_problem(503, "120"), OK], Retries(total=3, max_wait=30))
    with pytest.raises(ProblemError) as raised:
        http.send(GET)
    assert waits == []
    assert len(script.requests) == 1
    assert raised.value.retry_after == 120.0


def test_other_errors_are_raised_at_once() -> None:
    for status in (400, 404, 409, 413, 422, 500, 502):
        http, script, waits = _sync([_problem(status, "1"), OK], Retries(total=3))
        with pytest.raises(ProblemError) as raised:
            http.send(GET)
        assert raised.value.status == status
        assert (len(script.requests), waits) == (1, [])


def test_a_request_may_opt_out_of_waiting_for_429_and_503() -> None:
    http, script, _ = _sync([_problem(503, "1"), OK], Retries(total=3))
    with pytest.raises(ProblemError):
        http.send(Request("GET", "/ready", retry_statuses=False))
    assert len(script.requests) == 1


def test_train_is_retried_after_429_503_and_unsent_requests_but_not_after_a_sent_one() -> None:
    refused = httpx.ConnectError("connection refused")
    http, script, _ = _sync([refused, _problem(429, "0"), _problem(503, "0"), OK], Retries(total=3))
    http.send(TRAIN)
    assert [r.method for r in script.requests] == ["POST"] * 4

    broken = httpx.RemoteProtocolError("server disconnected without sending a response")
    http, script, waits = _sync([broken, OK], Retries(total=3))
    with pytest.raises(ConnectionFailedError, match="RemoteProtocolError") as raised:
        http.send(TRAIN)
    assert isinstance(raised.value.__cause__, httpx.RemoteProtocolError)
    assert (len(script.requests), waits) == (1, [])


def test_idempotent_requests_are_retried_after_any_connection_failure() -> None:
    answers: list[Answer] = [httpx.ReadTimeout("slow"), httpx.ReadError("reset"), OK]
    http, script, waits = _sync(answers, Retries(total=3, backoff=0.5), lambda: 1.0)
    assert http.send(Request("POST", "/loss", json={})).status_code == 200
    assert len(script.requests) == 3
    assert waits == [0.5, 1.0]


def test_connection_failures_end_in_connection_failed_once_the_retries_are_used() -> None:
    http, script, _ = _sync([httpx.ConnectError("refused")] * 4, Retries(total=3))
    with pytest.raises(ConnectionFailedError, match="GET /health"):
        http.send(GET)
    assert len(script.requests) == 4


def test_zero_retries_send_once() -> None:
    http, script, _ = _sync([_problem(429, "0"), OK], as_retries(0))
    with pytest.raises(ProblemError):
        http.send(GET)
    assert len(script.requests) == 1


@pytest.mark.anyio
async def test_the_asynchronous_transport_retries_alike() -> None:
    script = Script([_problem(429, "3"), httpx.ConnectError("refused"), OK])
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    client = httpx.AsyncClient(base_url="http://rnnlab.test", transport=httpx.MockTransport(script))
    async with client:
        http = AsyncHTTP(client, Retries(total=3, backoff=1.0), sleep=sleep, rng=lambda: 1.0)
        assert (await http.send(TRAIN)).json() == {"status": "ok"}
        assert waits == [3.0, 2.0]  # Retry-After, then the backoff of the second attempt
        http = AsyncHTTP(client, Retries(total=3), sleep=sleep)
        script.answers = iter([_problem(422)])
        with pytest.raises(ProblemError) as raised:
            await http.send(GET)
        assert raised.value.status == 422


def test_retry_after_is_seconds_or_an_http_date() -> None:
    now = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after("Mon, 30 Nov 2026 12:00:09 GMT", now) == 9.0
    assert parse_retry_after("Mon, 30 Nov 2026 11:00:00 GMT", now) == 0.0  # in the past
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_an_error_answer_that_is_not_a_problem_document_still_becomes_a_problem_error() -> None:
    error = problem_error(httpx.Response(502, text="<html>Bad gateway</html>"))
    assert (error.status, error.title, error.type) == (502, "Bad Gateway", "about:blank")
    assert "Bad gateway" in error.detail
    assert error.errors == ()


def test_validation_errors_carry_their_locations() -> None:
    body = {"type": "urn:rnnlab:problem:validation-error", "title": "Invalid Input",
            "status": 422, "detail": "body.weights.wrec: Field required", "instance": "/loss",
            "errors": [{"loc": ["body", "weights", "wrec"], "msg": "Field required",
                        "type": "missing"}]}  # fmt: skip
    error = problem_error(httpx.Response(422, json=body))
    assert error.errors[0].loc == ("body", "weights", "wrec")
    assert error.errors[0].type == "missing"
    assert error.instance == "/loss"
    assert error.problem.to_json() == body


def test_url_and_token_come_from_the_arguments_else_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RNNLAB_URL", raising=False)
    monkeypatch.delenv("RNNLAB_API_TOKEN", raising=False)
    assert base_url(None) == "http://127.0.0.1:8000"
    assert "Authorization" not in default_headers(None, None)
    monkeypatch.setenv("RNNLAB_URL", "http://elsewhere:9000/")
    monkeypatch.setenv("RNNLAB_API_TOKEN", "from-env")
    assert base_url(None) == "http://elsewhere:9000"
    assert base_url("http://given") == "http://given"
    assert default_headers(None, None)["Authorization"] == "Bearer from-env"
    assert default_headers("given", None)["Authorization"] == "Bearer given"
    assert "Authorization" not in default_headers("", None)
    assert default_headers(None, {"X-Extra": "1"})["X-Extra"] == "1"


def test_a_policy_with_negative_or_non_finite_settings_is_refused() -> None:
    for bad in ({"total": -1}, {"max_wait": float("nan")}, {"backoff": -1.0}):
        with pytest.raises(ValueError, match="retries"):
            Retries(**bad)
