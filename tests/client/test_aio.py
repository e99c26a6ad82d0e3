"""``AsyncClient`` mirrors ``Client``: the same methods, signatures and documentation, and
the same answers from the live server."""

from __future__ import annotations

import inspect
import re

import httpx
import numpy as np
import pytest

from rnnlab_client import (
    AsyncClient,
    AsyncJob,
    Client,
    Job,
    JobFailedError,
    ProblemError,
    WaitTimeoutError,
)
from rnnlab_client._job import JobView
from tests._processes import Server
from tests.client.conftest import TOKEN
from tests.core._reference import (
    RPROP_END,
    TEST_OUTPUT,
    TEST_SEQUENCE,
    TRACE_AT_1_2,
    TUTORIAL_TARGETS,
    TUTORIAL_VALUES,
)

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

LONG = {"n_samples": 4, "length": 2000, "seed": 1}


def _public(cls: type) -> dict[str, object]:
    return {
        name: member
        for name, member in vars(cls).items()
        if not name.startswith("_") and callable(member)
    }


def _sync_form(text: str | None) -> str:
    """Documentation or a signature with the asynchronous names made synchronous."""
    return re.sub(r"\bAsync(Client|Job|Iterator)\b", r"\1", text or "").replace(
        "httpx.AsyncBaseTransport", "httpx.BaseTransport"
    )


@pytest.mark.parametrize(("sync", "aio"), [(Client, AsyncClient), (Job, AsyncJob)])
def test_every_method_is_mirrored_with_the_same_signature_and_documentation(
    sync: type, aio: type
) -> None:
    methods, coroutines = _public(sync), _public(aio)
    assert set(methods) == set(coroutines)
    for name, method in methods.items():
        twin = coroutines[name]
        assert _sync_form(str(inspect.signature(twin))) == str(inspect.signature(method)), name
        assert _sync_form(inspect.getdoc(twin)) == inspect.getdoc(method), name
        iterates = name.startswith("list_")
        assert inspect.iscoroutinefunction(twin) != iterates, name
    assert _sync_form(inspect.getdoc(aio.__init__)) == inspect.getdoc(sync.__init__)
    assert issubclass(Job, JobView)
    assert issubclass(AsyncJob, JobView)


async def test_operations_and_analysis(aclient: AsyncClient, url: str) -> None:
    assert (await aclient.health()).status == "ok"
    assert (await aclient.ready()).ready
    assert "irprop-" in [o.name for o in await aclient.optimizers()]
    for point, (loss, d_wx, d_wrec) in TUTORIAL_VALUES.items():
        assert round(await aclient.loss(*point), 2) == loss
        gradient = await aclient.gradient(*point)
        assert (round(gradient.wx, 1), round(gradient.wrec, 1)) == (d_wx, d_wrec)
    outputs = await aclient.outputs(1, 1)
    assert outputs.outputs.tolist() == list(TUTORIAL_TARGETS)
    assert (await aclient.gradient_check(1.2, 1.2)).ok
    over_time = await aclient.gradient_over_time([(1, 2)])
    assert round(over_time.series[0].grad[0], 1) == TRACE_AT_1_2[1]
    surface = await aclient.loss_surface(resolution=9, **LONG)  # type: ignore[arg-type]
    answer = httpx.get(f"{url}/loss-surface", params={"resolution": 9, **LONG}).json()
    np.testing.assert_array_equal(surface.loss, np.array(answer["loss"], dtype=np.float64))
    assert surface.overflow
    uploaded = await aclient.loss_surface(resolution=3, sequences=[[1, 2], [3]])
    assert uploaded.loss.shape == (3, 3)
    predicted = await aclient.predict([TEST_SEQUENCE], weights=RPROP_END)
    assert round(predicted[0], 5) == TEST_OUTPUT


async def test_datasets(aclient: AsyncClient) -> None:
    created = await aclient.create_dataset(sequences=[[1, 0, 1], [1]])
    assert (await aclient.get_dataset(created.id, include_data=True)).targets is not None
    listed = [d.id async for d in aclient.list_datasets(page_size=1)]
    assert created.id in listed
    assert [d.id async for d in aclient.list_datasets(page_size=1, limit=1)] == listed[:1]
    await aclient.delete_dataset(created.id)
    with pytest.raises(ProblemError) as raised:
        await aclient.get_dataset(created.id)
    assert raised.value.status == 404


async def test_jobs_follow_list_cancel_and_figures(
    aclient: AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    job = await aclient.train()
    assert isinstance(job, AsyncJob)
    assert await job.wait(progress=True, timeout=120) is job
    assert f"job {job.id}" in capsys.readouterr().err
    assert job.result.weights == pytest.approx(RPROP_END, rel=1e-12)
    trajectory = await job.trajectory()
    assert (trajectory.wx[-1], trajectory.wrec[-1]) == pytest.approx(RPROP_END, rel=1e-12)
    assert (await job.refresh()).status == "succeeded"
    assert (await aclient.job(job.id)).result == job.result
    assert job.id in [j.id async for j in aclient.list_jobs(status="succeeded")]
    assert (await job.figure("svg")).lstrip().startswith(b"<?xml")
    assert (await aclient.figure_loss_surface("png", resolution=10)).startswith(b"\x89PNG")
    assert (await aclient.figure_gradient_over_time("svg", points=[(1, 2)])).startswith(b"<?xml")
    assert round((await aclient.predict([TEST_SEQUENCE], job_id=job.id))[0], 5) == TEST_OUTPUT

    endless = await aclient.train(iterations=10_000_000, record_trajectory=False)
    try:
        with pytest.raises(WaitTimeoutError):
            await endless.wait(timeout=0.2)
    finally:
        await (await endless.cancel()).wait(timeout=60)
    assert endless.status == "cancelled"
    with pytest.raises(JobFailedError):
        _ = endless.result


async def test_the_token_is_sent(token_server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RNNLAB_API_TOKEN", raising=False)
    async with AsyncClient(token_server.url) as anonymous:
        with pytest.raises(ProblemError) as raised:
            await anonymous.loss(1, 1)
        assert raised.value.status == 401
    async with AsyncClient(token_server.url, TOKEN) as given:
        assert (await given.optimizers())[0].name == "rprop"
