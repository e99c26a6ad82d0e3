"""``Client`` against a live ``rnnlab serve``: every method, checked with the tutorial's facts
and the service's own answers; errors, tokens, and following jobs to their end.

A few behaviours a live server cannot be made to show on demand (a refused event stream,
a 503 that passes, a body that is not the API's) are scripted with httpx.MockTransport.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import numpy as np
import pytest

from rnnlab_client import (
    Client,
    ConnectionFailedError,
    Job,
    JobFailedError,
    JobNotFinishedError,
    ProblemError,
    Retries,
    UnexpectedResponseError,
    WaitTimeoutError,
    _api,
)
from tests._processes import Server
from tests.client.conftest import TOKEN
from tests.core._reference import (
    RPROP_END,
    RPROP_ITERATIONS,
    RPROP_START,
    TEST_OUTPUT,
    TEST_SEQUENCE,
    TEST_TARGET,
    TRACE_AT_1_2,
    TUTORIAL_TARGETS,
    TUTORIAL_VALUES,
    tutorial_rows,
)

pytestmark = pytest.mark.slow

TUTORIAL_SPEC = {"n_samples": 20, "length": 10, "seed": 1, "generator": "legacy"}
# Sequences long enough that (wx, wrec) = (1, 2) overflows float64: 2**2000.
LONG = {"n_samples": 4, "length": 2000, "seed": 1}
# Iterations no machine finishes within a test's patience (cancelled by the test).
ENDLESS = 10_000_000


@pytest.fixture
def endless(client: Client) -> Iterator[Job]:
    """A job that runs until the test cancels it (cancelled at the end in any case)."""
    job = client.train(iterations=ENDLESS, record_trajectory=False)
    yield job
    if not job.refresh().finished:
        job.cancel().wait(timeout=60)


# -- operations ----------------------------------------------------------------------------


def test_health_readiness_and_optimizers(client: Client) -> None:
    assert client.health().status == "ok"
    readiness = client.ready()
    assert readiness.ready
    assert {"datasets", "job_queue", "job_store"} <= set(readiness.components)
    optimizers = {o.name: o for o in client.optimizers()}
    assert set(optimizers) == {"rprop", "rprop-", "rprop+", "irprop-", "irprop+", "sgd"}
    defaults = {h.name: h.default for h in optimizers["rprop"].hyperparameters}
    assert defaults == {"eta_plus": 1.2, "eta_minus": 0.5, "delta0": 0.001}  # the tutorial's
    assert optimizers["rprop"].sign_based


# -- analysis ------------------------------------------------------------------------------


@pytest.mark.parametrize(("point", "expected"), TUTORIAL_VALUES.items())
def test_loss_and_gradient_are_the_tutorials(
    client: Client, point: tuple[float, float], expected: tuple[float, float, float]
) -> None:
    loss, d_wx, d_wrec = expected
    assert round(client.loss(*point), 2) == loss
    gradient = client.gradient(*point)
    assert round(gradient.loss, 2) == loss
    assert (round(gradient.wx, 1), round(gradient.wrec, 1)) == (d_wx, d_wrec)
    assert not gradient.overflow


def test_every_form_of_the_tutorial_dataset_gives_the_same_loss(client: Client) -> None:
    stored = client.create_dataset(**TUTORIAL_SPEC)  # type: ignore[arg-type]
    losses = {
        client.loss(2, 1),
        client.loss(2, 1, **TUTORIAL_SPEC),  # type: ignore[arg-type]
        client.loss(2, 1, dataset_id=stored.id),
        client.loss(2, 1, sequences=tutorial_rows()),
        client.loss(2, 1, sequences=np.array(tutorial_rows()), targets=TUTORIAL_TARGETS),
    }
    assert len(losses) == 1


def test_outputs_at_the_optimum_are_the_counts(client: Client) -> None:
    result = client.outputs(1, 1)
    assert result.outputs.tolist() == list(TUTORIAL_TARGETS)
    assert result.loss == 0.0
    assert not result.overflow


def test_the_trace_doubles_back_through_time_and_sums_the_sequence_traces(client: Client) -> None:
    gradient = client.gradient(1, 2, sequence_trace=True)
    at_n, at_0 = TRACE_AT_1_2
    assert gradient.trace.shape == (11,)
    assert (round(gradient.trace[-1], 1), round(gradient.trace[0], 1)) == (at_n, at_0)
    np.testing.assert_allclose(gradient.trace[:-1], 2 * gradient.trace[1:])
    assert gradient.sequence_trace is not None
    assert gradient.sequence_trace.shape == (20, 11)
    np.testing.assert_allclose(gradient.sequence_trace.sum(axis=0), gradient.trace)


def test_gradient_check_agrees_at_the_tutorials_point(client: Client) -> None:
    check = client.gradient_check(1.2, 1.2)
    assert check.ok
    np.testing.assert_allclose(check.analytic, check.numeric)
    assert check.max_abs_error >= 0


def test_overflow_is_nan_and_flagged(client: Client) -> None:
    assert np.isnan(client.loss(1, 2, **LONG))  # type: ignore[arg-type]
    gradient = client.gradient(1, 2, **LONG)  # type: ignore[arg-type]
    assert gradient.overflow
    assert np.isnan(gradient.loss)
    assert np.isnan(gradient.trace).any()
    outputs = client.outputs(1, 2, **LONG)  # type: ignore[arg-type]
    assert outputs.overflow
    assert np.isnan(outputs.outputs).all()


@pytest.mark.parametrize("dataset", [{}, LONG], ids=["tutorial", "overflowing"])
def test_the_npy_surface_is_the_services_json_surface(
    client: Client, url: str, dataset: dict[str, int]
) -> None:
    window = {"wx_min": -3.0, "wx_max": 3.0, "wrec_min": -2.5, "wrec_max": 2.0}
    surface = client.loss_surface(**window, nx=33, ny=17, **dataset)  # type: ignore[arg-type]
    answer = httpx.get(
        f"{url}/loss-surface", params={**window, "nx": 33, "ny": 17, **dataset}, timeout=60
    ).json()
    assert surface.wx.tolist() == answer["wx"]  # the same floats, not just close ones
    assert surface.wrec.tolist() == answer["wrec"]
    expected = np.array(answer["loss"], dtype=np.float64)
    np.testing.assert_array_equal(surface.loss, expected)  # nan where the JSON has null
    assert surface.overflow == answer["overflow"]
    assert surface.min == tuple(
        np.nan if answer["min"][k] is None else answer["min"][k] for k in ("wx", "wrec", "loss")
    )


def test_the_surfaces_cells_are_the_loss_at_their_points(client: Client) -> None:
    surface = client.loss_surface(wx_min=0, wx_max=2, wrec_min=0, wrec_max=2, resolution=21)
    assert surface.loss.shape == (21, 21)
    assert not surface.overflow
    best = surface.min
    assert best.loss == np.nanmin(surface.loss)
    assert client.loss(best.wx, best.wrec) == pytest.approx(best.loss, rel=1e-9)
    assert (best.wx, best.wrec) == (1, 1)  # on this grid the optimum is a grid point


def test_gradient_over_time_at_the_tutorials_points(client: Client) -> None:
    result = client.gradient_over_time()
    points = [(s.wx, s.wrec) for s in result.series]
    assert points == [(2, 1), (1, 2), (1, -2), (1, 0), (1, 0.5), (1, -0.5)]
    assert result.timesteps.tolist() == list(range(11))
    at_n, at_0 = TRACE_AT_1_2
    grad = result.series[1].grad
    assert (round(grad[-1], 1), round(grad[0], 1)) == (at_n, at_0)
    # Two paths of the service (fast path, BPTT): the same numbers to rounding.
    np.testing.assert_allclose(result.grads[1], client.gradient(1, 2).trace, rtol=1e-12)
    chosen = client.gradient_over_time([(1, 2)], **LONG)  # type: ignore[arg-type]
    assert chosen.overflow
    assert chosen.series[0].overflow


def test_sequences_given_to_a_get_are_stored_first(client: Client) -> None:
    rows = [[1.0, 2.0], [3.0]]
    surface = client.loss_surface(resolution=3, sequences=rows)
    stored = client.create_dataset(sequences=rows)  # the same data: the same id
    again = client.loss_surface(resolution=3, dataset_id=stored.id)
    np.testing.assert_array_equal(surface.loss, again.loss)
    over_time = client.gradient_over_time([(1, 1)], sequences=rows)
    assert over_time.timesteps.tolist() == [0, 1, 2]


def test_predict_with_the_tutorials_trained_weights(client: Client) -> None:
    outputs = client.predict([TEST_SEQUENCE, [1, 1, 1], [0.5, 2.5]], weights=RPROP_END)
    assert outputs.dtype == np.float64
    assert round(outputs[0], 5) == TEST_OUTPUT
    assert np.rint(outputs).tolist() == [TEST_TARGET, 3, 3]
    assert np.isnan(client.predict([[1.0] * 2000], weights=(1, 2))[0])
    with pytest.raises(ValueError, match="exactly one"):
        client.predict([TEST_SEQUENCE])


# -- datasets ------------------------------------------------------------------------------


def test_datasets_are_created_read_listed_and_deleted(client: Client) -> None:
    spec = client.create_dataset(n_samples=30, length=7, seed=3)
    assert (spec.kind, spec.n_samples, spec.min_length, spec.max_length) == ("generated", 30, 7, 7)
    assert spec.is_binary
    assert spec.created_at is not None
    assert spec.created_at.utcoffset() is not None
    assert client.create_dataset(n_samples=30, length=7, seed=3).id == spec.id
    assert client.get_dataset(spec.id) == spec

    uploaded = client.create_dataset(sequences=[[0.5, 1, -2], [1, 1], [3]], targets=[1, 2, 3])
    read = client.get_dataset(uploaded.id, include_data=True)
    assert read.sequences is not None
    assert [row.tolist() for row in read.sequences] == [[0.5, 1, -2], [1, 1], [3]]
    assert read.targets is not None
    assert read.targets.tolist() == [1, 2, 3]

    listed = [d.id for d in client.list_datasets(page_size=1)]  # one request per dataset
    assert listed.index(spec.id) < listed.index(uploaded.id)  # oldest first
    assert listed == [d.id for d in client.list_datasets(page_size=1000)]
    assert [d.id for d in client.list_datasets(page_size=1, limit=2)] == listed[:2]

    client.delete_dataset(uploaded.id)
    with pytest.raises(ProblemError) as raised:
        client.get_dataset(uploaded.id)
    assert raised.value.status == 404
    assert uploaded.id not in [d.id for d in client.list_datasets()]


# -- training ------------------------------------------------------------------------------


def test_the_tutorials_training_run(client: Client) -> None:
    job = client.train()
    assert job.status in ("queued", "running", "succeeded")
    assert job.wait(timeout=120) is job
    assert job.status == "succeeded"
    assert job.finished_at is not None
    assert job.started_at is not None
    assert job.result.iterations == RPROP_ITERATIONS
    assert job.result.weights == pytest.approx(RPROP_END, rel=1e-12)

    trajectory = job.trajectory()
    assert trajectory.iterations == RPROP_ITERATIONS
    assert (trajectory.wx[0], trajectory.wrec[0]) == RPROP_START
    assert (trajectory.wx[-1], trajectory.wrec[-1]) == pytest.approx(RPROP_END, rel=1e-12)
    assert trajectory.loss[-1] < trajectory.loss[0]

    assert round(client.predict([TEST_SEQUENCE], job_id=job.id)[0], 5) == TEST_OUTPUT
    assert job.figure("png").startswith(b"\x89PNG\r\n\x1a\n")
    assert client.job(job.id).result == job.result
    assert job.id in [j.id for j in client.list_jobs(status="succeeded")]


def test_training_takes_optimizer_dataset_and_starts(client: Client) -> None:
    dataset = client.create_dataset(n_samples=100, length=20, seed=3)
    grid = {"wx_min": -1.0, "wx_max": 1.0, "wrec_min": 0.0, "wrec_max": 1.0, "nx": 2, "ny": 2}
    job = client.train(
        dataset_id=dataset.id,
        optimizer="irprop-",
        hyperparameters={"eta_plus": 1.3},
        iterations=300,
        starts_grid=grid,  # type: ignore[arg-type]
    ).wait(timeout=120)
    result = job.result
    assert result.starts is not None
    assert [s.initial for s in result.starts] == [(-1, 0), (1, 0), (-1, 1), (1, 1)]
    assert result.best_start is not None
    best = result.starts[result.best_start]
    assert (best.wx, best.wrec, best.loss) == (result.wx, result.wrec, result.loss)
    assert result.loss == min(s.loss for s in result.starts)
    other = job.trajectory(start=0)
    assert (other.wx[0], other.wrec[0]) == (-1, 0)
    # The service computes the loss at the trained weights as /loss does.
    assert client.loss(result.wx, result.wrec, dataset_id=dataset.id) == pytest.approx(
        result.loss, rel=1e-9, abs=1e-300
    )


def test_inline_sequences_train_too(client: Client) -> None:
    job = client.train(sequences=tutorial_rows(), iterations=RPROP_ITERATIONS).wait(timeout=120)
    assert job.result.weights == pytest.approx(RPROP_END, rel=1e-12)


def test_waiting_with_a_progress_bar_draws_it_on_stderr(
    client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    job = client.train(iterations=2000).wait(progress=True, timeout=120)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"job {job.id}" in captured.err
    assert "2000/2000" in captured.err
    assert "succeeded" in captured.err


def test_a_cancelled_job_has_no_result_and_cannot_be_cancelled_again(
    client: Client, endless: Job
) -> None:
    with pytest.raises(JobNotFinishedError):
        _ = endless.result
    endless.cancel().wait(timeout=60)
    assert endless.status == "cancelled"
    with pytest.raises(JobFailedError) as raised:
        _ = endless.result
    assert raised.value.problem is not None
    assert raised.value.problem.type == "urn:rnnlab:problem:cancelled"
    with pytest.raises(ProblemError) as again:
        endless.cancel()
    assert again.value.status == 409


def test_a_wait_that_times_out_leaves_the_job_running(client: Client, endless: Job) -> None:
    with pytest.raises(WaitTimeoutError) as raised:
        endless.wait(timeout=0.2)
    assert isinstance(raised.value, TimeoutError)
    assert not raised.value.job.finished
    assert not endless.refresh().finished


def test_jobs_are_listed_newest_first_a_page_at_a_time(client: Client) -> None:
    first = client.train(iterations=5)
    second = client.train(iterations=5)
    ids = [job.id for job in client.list_jobs(page_size=1, limit=2)]
    assert ids == [second.id, first.id]
    for job in (first, second):
        job.wait(timeout=120)


# -- errors --------------------------------------------------------------------------------


def test_invalid_values_are_a_problem_error_with_their_locations(url: str) -> None:
    client = Client(url, headers={"X-Request-ID": "client-test-422"})
    with client, pytest.raises(ProblemError) as raised:
        client.gradient_check(1, 1, eps=2.0)
    error = raised.value
    assert (error.status, error.type) == (422, "urn:rnnlab:problem:validation-error")
    assert error.title
    assert error.detail
    assert error.instance == "/gradient-check"
    assert [e.loc for e in error.errors] == [("body", "eps")]
    assert error.request_id == "client-test-422"  # the id the server logged it under


def test_limits_and_unknown_ids_are_problem_errors(client: Client) -> None:
    with pytest.raises(ProblemError) as too_big:
        client.loss_surface(resolution=100_000)
    assert too_big.value.status == 413
    assert too_big.value.problem.extensions["limit"]["name"] == "max_resolution"
    assert too_big.value.request_id
    for call in (lambda: client.job("01NOSUCHJOB"), lambda: client.loss(1, 1, dataset_id="g-0")):
        with pytest.raises(ProblemError) as unknown:
            call()
        assert unknown.value.status == 404


def test_no_server_is_a_connection_failure() -> None:
    with Client("http://127.0.0.1:9", retries=0) as client, pytest.raises(ConnectionFailedError):
        client.health()


# -- tokens --------------------------------------------------------------------------------


def test_the_token_is_sent_from_the_argument_or_the_environment(
    token_server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RNNLAB_API_TOKEN", raising=False)
    with Client(token_server.url) as anonymous:
        assert anonymous.health().status == "ok"  # /health wants no token
        with pytest.raises(ProblemError) as raised:
            anonymous.loss(1, 1)
        assert raised.value.status == 401
    with Client(token_server.url, TOKEN) as given:
        assert round(given.loss(2, 1), 2) == TUTORIAL_VALUES[(2.0, 1.0)][0]
    monkeypatch.setenv("RNNLAB_API_TOKEN", TOKEN)
    with Client(token_server.url) as from_env:
        assert from_env.optimizers()
    with Client(token_server.url, "") as none, pytest.raises(ProblemError):
        none.loss(1, 1)
    with Client(token_server.url, "wrong") as wrong, pytest.raises(ProblemError) as refused:
        wrong.loss(1, 1)
    assert refused.value.status == 401


# -- scripted answers ----------------------------------------------------------------------


def _state(status: str, iteration: int) -> dict[str, object]:
    return {
        "id": "01SCRIPTED",
        "status": status,
        "created_at": "2026-11-30T00:00:00Z",
        "progress": {"iteration": iteration, "iterations": 10, "loss": 1.0,
                     "weights": {"wx": 1.0, "wrec": 1.0}},
        "result": None if status != "succeeded" else {
            "weights": {"wx": 1.0, "wrec": 1.0}, "loss": 0.0, "iterations": 10,
            "converged": False, "diverged": False, "overflow": False},
        "error": None,
    }  # fmt: skip


def test_a_refused_event_stream_is_replaced_by_polling() -> None:
    states = iter([_state("running", 4), _state("succeeded", 10)])
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path.endswith("/events"):  # too many streams on this job
            return httpx.Response(429, headers={"Retry-After": "5"}, json={"status": 429})
        return httpx.Response(200, json=next(states))

    with Client("http://rnnlab.test", transport=httpx.MockTransport(answer)) as client:
        waits: list[float] = []
        client._http.sleep = waits.append
        job = Job(client, client._call(_api.get_job("01SCRIPTED")))
        job.wait()
    assert job.status == "succeeded"
    assert seen == ["/jobs/01SCRIPTED", "/jobs/01SCRIPTED/events", "/jobs/01SCRIPTED"]
    assert waits == [0.5]  # the poll interval: no Retry-After of 5 s was waited for


def test_a_stream_that_ends_without_done_is_resumed() -> None:
    progress = json.dumps({"id": "01SCRIPTED", "status": "running",
                           "progress": _state("running", 5)["progress"]})  # fmt: skip
    streams = iter(
        [
            f"event: progress\ndata: {progress}\n\n",  # the connection ends here
            f"event: done\ndata: {json.dumps(_state('succeeded', 10))}\n\n",
        ]
    )

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/events"):
            return httpx.Response(200, text=next(streams))
        return httpx.Response(200, json=_state("running", 5))

    with Client("http://rnnlab.test", transport=httpx.MockTransport(answer)) as client:
        job = Job(client, client._call(_api.get_job("01SCRIPTED")))
        job.wait()
    assert job.status == "succeeded"
    assert job.progress.iteration == 10


def test_a_503_with_retry_after_is_waited_for_and_retried() -> None:
    answers = iter(
        [
            httpx.Response(503, headers={"Retry-After": "0"}, json={"status": 503}),
            httpx.Response(200, json={"loss": 28.35, "overflow": False}),
        ]
    )
    transport = httpx.MockTransport(lambda request: next(answers))
    with Client("http://rnnlab.test", transport=transport, retries=Retries(total=1)) as client:
        assert client.loss(2, 1) == 28.35


def test_an_answer_that_is_not_the_apis_is_an_unexpected_response() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, text="<html>portal</html>"))
    client = Client("http://rnnlab.test", transport=transport)
    with client, pytest.raises(UnexpectedResponseError) as raised:
        client.loss(1, 1)
    assert raised.value.status == 200


def test_figures_are_the_images_bytes(client: Client) -> None:
    png = client.figure_loss_surface("png", resolution=10, zoom=False, points=[(1, 1)], width=300)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    svg = client.figure_gradient_over_time("svg", points=[(1, 2), (1, 0.5)], **LONG)  # type: ignore[arg-type]
    assert svg.lstrip().startswith(b"<?xml")
    with pytest.raises(ProblemError) as raised:
        client.figure_loss_surface("png", width=10**6)
    assert raised.value.status == 413
