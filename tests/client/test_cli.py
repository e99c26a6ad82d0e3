"""``rnnlab-client`` as scripts run it: a subprocess, JSON on stdout, problems on stderr, and
an exit code for each way a command can end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rnnlab_client import Client
from rnnlab_client.cli import EXIT_CODES
from tests._processes import Server
from tests.client.conftest import TOKEN
from tests.core._reference import RPROP_END, TEST_OUTPUT, TEST_SEQUENCE, TUTORIAL_VALUES

pytestmark = pytest.mark.slow

COMMAND = Path(sys.executable).with_name("rnnlab-client")
Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run(url: str, tmp_path: Path) -> Run:
    """Run the installed command against the session server, from a scratch directory."""

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("RNNLAB_")}
        return subprocess.run(
            [str(COMMAND), "--url", url, *args],
            capture_output=True,
            text=True,
            env={**clean, **(env or {})},
            cwd=tmp_path,
            timeout=180,
            check=False,
        )

    return run


def _json(result: subprocess.CompletedProcess[str], code: int = 0) -> Any:
    assert result.returncode == code, (result.stdout, result.stderr)
    return json.loads(result.stdout)


@pytest.fixture
def endless(client: Client) -> Iterator[str]:
    """The id of a job that runs until cancelled (cancelled at the end in any case)."""
    job = client.train(iterations=10_000_000, record_trajectory=False)
    yield job.id
    if not job.refresh().finished:
        job.cancel().wait(timeout=60)


def test_the_exit_codes_are_documented_in_the_help() -> None:
    result = subprocess.run([str(COMMAND), "--help"], capture_output=True, text=True, check=True)
    assert " ".join(result.stdout.split()).count("exit codes:") == 1
    assert sorted(EXIT_CODES) == [0, 1, 2, 3, 4, 5]
    for code in EXIT_CODES:
        assert f"{code} " in result.stdout


def test_operations(run: Run) -> None:
    assert _json(run("health")) == {"status": "ok"}
    assert _json(run("ready"))["ready"] is True
    assert "irprop+" in [o["name"] for o in _json(run("optimizers"))]


def test_loss_gradient_and_check_print_the_tutorials_numbers(run: Run) -> None:
    loss, d_wx, d_wrec = TUTORIAL_VALUES[(1.0, 2.0)]
    assert _json(run("loss", "--wx", "1", "--wrec", "2")) == {"loss": loss, "overflow": False}
    gradient = _json(run("gradient", "--wx", "1", "--wrec", "2"))
    assert (round(gradient["wx"], 1), round(gradient["wrec"], 1)) == (d_wx, d_wrec)
    assert len(gradient["trace"]) == 11
    overflow = _json(
        run("loss", "--wx", "1", "--wrec", "2", "--n-samples", "3", "--length", "2000")
    )
    assert overflow == {"loss": None, "overflow": True}  # null, never NaN
    assert _json(run("gradient-check", "--wx", "1.2", "--wrec", "1.2"))["ok"] is True
    over_time = _json(run("gradient-over-time", "--points", "1:2,1:-2"))
    assert [(s["wx"], s["wrec"]) for s in over_time["series"]] == [(1, 2), (1, -2)]


def test_surface_to_npy_is_the_clients_surface(run: Run, client: Client, tmp_path: Path) -> None:
    summary = _json(run("surface", "--resolution", "64", "--wrec-max", "2", "-o", "surface.npy"))
    saved = np.load(tmp_path / "surface.npy", allow_pickle=False)
    expected = client.loss_surface(resolution=64, wrec_max=2)
    np.testing.assert_array_equal(saved, expected.loss)
    assert summary["shape"] == [64, 64]
    assert summary["min"] == {"wx": expected.min.wx, "wrec": expected.min.wrec,
                              "loss": expected.min.loss}  # fmt: skip
    whole = _json(run("surface", "--nx", "3", "--ny", "2"))
    assert (len(whole["wx"]), len(whole["wrec"]), len(whole["loss"])) == (3, 2, 2)


def test_predict_takes_the_values_of_one_sequence_or_a_file(run: Run, tmp_path: Path) -> None:
    values = [str(v) for v in TEST_SEQUENCE]
    wx, wrec = (repr(w) for w in RPROP_END)
    outputs = _json(run("predict", *values, "--wx", wx, "--wrec", wrec))["outputs"]
    assert round(outputs[0], 5) == TEST_OUTPUT
    (tmp_path / "rows.json").write_text(json.dumps([TEST_SEQUENCE, [1, 1]]))
    both = _json(run("predict", "--file", "rows.json", "--wx", "1", "--wrec", "1"))
    assert both == {"outputs": [5.0, 2.0]}


def test_train_and_wait_on_a_pipe_prints_the_finished_job_and_no_bar(run: Run) -> None:
    result = run("train", "--iterations", "500", "--wait")
    job = _json(result)
    assert result.stderr == ""  # stderr is not a terminal: no bar
    assert job["status"] == "succeeded"
    assert (job["result"]["wx"], job["result"]["wrec"]) == pytest.approx(RPROP_END, rel=1e-12)
    assert job["created_at"].endswith("Z")

    trajectory = _json(run("job", "trajectory", job["id"], "-o", "path.npy"))
    assert trajectory["iterations"] == 500
    figure = _json(run("job", "figure", job["id"], "-o", "path.png", "--width", "400"))
    assert figure["bytes"] > 0
    listed = _json(run("job", "list", "--status", "succeeded", "--limit", "5"))
    assert job["id"] in [j["id"] for j in listed]
    predicted = _json(run("predict", *map(str, TEST_SEQUENCE), "--job", job["id"]))
    assert round(predicted["outputs"][0], 5) == TEST_OUTPUT


def test_train_with_progress_draws_the_bar_on_stderr(run: Run) -> None:
    result = run("train", "--iterations", "800", "--optimizer", "irprop+", "--wait", "--progress")
    job = _json(result)
    assert f"job {job['id']}" in result.stderr
    assert "800/800" in result.stderr


def test_a_queued_job_is_printed_at_once_and_can_be_followed(run: Run) -> None:
    queued = _json(run("train", "--iterations", "50", "--set", "eta_plus=1.3", "--initial", "0:0"))
    assert queued["progress"]["iterations"] == 50
    ended = _json(run("job", "wait", queued["id"], "--timeout", "120"))
    assert ended["status"] == "succeeded"
    assert _json(run("job", "get", queued["id"]))["status"] == "succeeded"


def test_a_cancelled_job_waited_for_exits_4(run: Run, endless: str) -> None:
    cancelled = _json(run("job", "cancel", endless))
    assert cancelled["id"] == endless
    result = run("job", "wait", endless, "--timeout", "60")
    assert _json(result, 4)["status"] == "cancelled"
    assert f"job {endless} cancelled" in result.stderr
    again = run("job", "cancel", endless)
    assert again.returncode == 1
    assert json.loads(again.stderr)["status"] == 409


def test_a_wait_that_times_out_exits_5(run: Run, endless: str) -> None:
    result = run("job", "wait", endless, "--timeout", "0.2", "--no-progress")
    assert result.returncode == 5
    assert json.loads(result.stdout)["id"] == endless  # the job as it was left
    assert "after 0.2 s" in result.stderr


def test_datasets(run: Run, tmp_path: Path) -> None:
    spec = _json(run("dataset", "create", "--n-samples", "10", "--length", "4", "--seed", "2"))
    assert spec["kind"] == "generated"
    (tmp_path / "data.json").write_text(json.dumps({"sequences": [[1, 2], [3]], "targets": [3, 4]}))
    uploaded = _json(run("dataset", "create", "--data", "data.json"))
    read = _json(run("dataset", "get", uploaded["id"], "--include-data"))
    assert (read["sequences"], read["targets"]) == ([[1, 2], [3]], [3, 4])
    assert {spec["id"], uploaded["id"]} <= {d["id"] for d in _json(run("dataset", "list"))}
    loss = _json(run("loss", "--wx", "1", "--wrec", "1", "--dataset-id", uploaded["id"]))
    assert loss["loss"] == ((3 - 3) ** 2 + (3 - 4) ** 2) / 2  # y = the row sums at (1, 1)
    assert _json(run("dataset", "delete", uploaded["id"])) == {"deleted": uploaded["id"]}


def test_figures_are_written_to_the_named_file(run: Run, tmp_path: Path) -> None:
    written = _json(run("figure", "loss-surface", "-o", "s.svg", "--resolution", "8", "--no-zoom"))
    assert (tmp_path / "s.svg").read_bytes().lstrip().startswith(b"<?xml")
    assert written == {"output": "s.svg", "bytes": (tmp_path / "s.svg").stat().st_size}
    _json(run("figure", "gradient-over-time", "-o", "g.png", "--points", "1:2"))
    assert (tmp_path / "g.png").read_bytes().startswith(b"\x89PNG")


def test_a_problem_exits_1_with_the_problem_document_on_stderr(run: Run) -> None:
    result = run("loss", "--wx", "1", "--wrec", "1", "--dataset-id", "g-nosuchdataset")
    assert result.returncode == 1
    assert result.stdout == ""
    problem = json.loads(result.stderr)
    assert (problem["status"], problem["type"]) == (404, "urn:rnnlab:problem:not-found")
    assert problem["request_id"]
    invalid = json.loads(run("surface", "--wx-min", "2", "--wx-max", "1").stderr)
    assert invalid["status"] == 422
    assert invalid["errors"][0]["loc"][0] == "query"


def test_usage_errors_exit_2(run: Run) -> None:
    for args in (
        ("loss", "--wx", "1"),  # argparse: --wrec missing
        ("predict", "0", "1"),  # neither weights nor a job
        ("loss", "--wx", "1", "--wrec", "1", "--dataset-id", "g-1", "--n-samples", "3"),
        ("figure", "loss-surface", "-o", "picture.gif"),
    ):
        result = run(*args)
        assert result.returncode == 2, args
        assert result.stdout == ""
        assert result.stderr


def test_no_server_exits_3() -> None:
    result = subprocess.run(
        [str(COMMAND), "--url", "http://127.0.0.1:9", "--retries", "0", "health"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 3
    assert "no answer from http://127.0.0.1:9" in result.stderr


def test_the_token_comes_from_the_option_or_the_environment(token_server: Server) -> None:
    def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("RNNLAB_")}
        command = [str(COMMAND), *args, "loss", "--wx", "2", "--wrec", "1"]
        return subprocess.run(
            command, capture_output=True, text=True, env={**clean, **env}, check=False
        )

    assert run("--url", token_server.url).returncode == 1
    assert _json(run("--url", token_server.url, "--token", TOKEN))["loss"] == 28.35
    from_env = run(RNNLAB_URL=token_server.url, RNNLAB_API_TOKEN=TOKEN)
    assert _json(from_env)["loss"] == 28.35
