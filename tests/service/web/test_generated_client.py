"""A client generated from the committed openapi.json (openapi-python-client, default settings)
has every operation and works against a live ``rnnlab serve``."""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from core.bptt import gradient
from core.datasets import tutorial_dataset
from tests.service._api import live_server

ROOT = Path(__file__).resolve().parents[3]
OPENAPI = ROOT / "openapi.json"
BIN = Path(sys.executable).parent
PACKAGE = "rnnlab_generated"
SEQUENCE = [
    0.0,
    1.0,
    1.0,
    0.0,
    0.0,
    0.0,
    0.0,
    1.0,
    0.0,
    0.0,
    1.0,
    1.0,
]  # five ones  # not rnnlab_client: that is the official client's name


@pytest.fixture(scope="module")
def generation(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The generated package's parent folder, and what the generator printed."""
    out = tmp_path_factory.mktemp("generated")
    config = out / "config.yml"
    config.write_text(f"package_name_override: {PACKAGE}\n")
    result = subprocess.run(
        [
            str(BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(OPENAPI),
            "--config",
            str(config),
            "--meta",
            "none",
            "--output-path",
            str(out / PACKAGE),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out, result.stdout + result.stderr


@pytest.fixture(scope="module")
def generated(generation: tuple[Path, str]) -> Iterator[ModuleType]:
    folder, _ = generation
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def _operations() -> dict[str, tuple[str, str]]:
    """operationId -> (tag, path) of every operation in the committed document."""
    document = json.loads(OPENAPI.read_text())
    return {
        operation["operationId"]: (operation["tags"][0], path)
        for path, item in document["paths"].items()
        for operation in item.values()
    }


def test_every_operation_is_generated(generation: tuple[Path, str]) -> None:
    folder, _ = generation
    for operation_id, (tag, path) in _operations().items():
        module = folder / PACKAGE / "api" / tag / f"{operation_id}.py"
        assert module.is_file(), f"{path} ({operation_id}) was not generated"


def test_the_generator_only_notes_the_image_bodies_it_cannot_type(
    generation: tuple[Path, str],
) -> None:
    """Its one known limit: image/* bodies are returned raw (see the figure call below)."""
    _, output = generation
    warned = re.findall(r"WARNING parsing (\w+) (\S+) within", output)
    notes = re.findall(r"Cannot parse .*?\((.*?)\)", output)
    assert all("figure" in path for _, path in warned), warned
    assert all("content_type image/png, image/svg+xml" in note for note in notes), notes
    assert len(notes) == len(warned)
    assert "Unable to" not in output  # a schema or an operation dropped


def test_the_generated_client_runs_the_tutorial_against_a_live_server(
    generated: ModuleType, tmp_path: Path
) -> None:
    api = f"{PACKAGE}.api"
    m = importlib.import_module(f"{PACKAGE}.models")
    call: dict[str, Any] = {
        name: importlib.import_module(f"{api}.{tag}.{name}")
        for name, (tag, _) in _operations().items()
    }
    with live_server(tmp_path, RNNLAB_EMBEDDED_WORKERS="1") as (base, _):
        client = generated.Client(base_url=base, raise_on_unexpected_status=True)
        lenient = generated.Client(base_url=base)  # images are returned raw, as unparsed
        with client, lenient:
            _tutorial_session(m, call, client, lenient)


def _tutorial_session(m: ModuleType, call: dict[str, Any], client: Any, lenient: Any) -> None:
    """Dataset, loss, gradient, surface, training, trajectory, predictions, a figure."""
    spec = m.DatasetSpec(n_samples=20, length=10, seed=1, generator=m.DatasetSpecGenerator.LEGACY)
    stored = call["create_dataset"].sync(client=client, body=spec)
    assert isinstance(stored, m.DatasetOut)
    assert stored.created_at.tzinfo is not None

    weights = m.Weights(wx=1.0, wrec=1.0)
    loss = call["compute_loss"].sync(
        client=client, body=m.LossRequest(weights=weights, dataset_id=stored.id)
    )
    assert loss.loss == 0.0  # the tutorial's optimum: every output is its count

    start = m.Weights(wx=-1.5, wrec=2.0)
    grad = call["compute_gradient"].sync(
        client=client, body=m.GradientRequest(weights=start, dataset_id=stored.id)
    )
    expected = gradient(tutorial_dataset(), -1.5, 2.0)
    assert [grad.gradient.wx, grad.gradient.wrec] == pytest.approx(
        [expected.wx, expected.wrec], rel=1e-12
    )

    surface = call["get_loss_surface"].sync(client=client, dataset_id=stored.id, resolution=8)
    assert np.asarray(surface.loss, dtype=float).shape == (8, 8)

    job = call["train"].sync(client=client, body=m.TrainRequest(iterations=50), wait=60.0)
    assert job.status == m.JobStatus.SUCCEEDED
    path = call["get_job_trajectory"].sync(client=client, job_id=job.id)
    assert len(path.wx) == 51

    predicted = call["predict"].sync(
        client=client,
        body=m.PredictRequest(sequences=[SEQUENCE], weights=weights),
    )
    assert predicted.counts == [5]
    trained = call["predict"].sync(
        client=client, body=m.PredictRequest(sequences=[SEQUENCE], job_id=job.id)
    )
    assert trained.weights.wx == path.wx[-1]

    figure = call["get_loss_surface_figure"].sync_detailed(
        m.GetLossSurfaceFigureFmt.PNG, client=lenient, resolution=20, zoom=False
    )
    assert figure.status_code == 200
    assert figure.content.startswith(b"\x89PNG\r\n\x1a\n")
