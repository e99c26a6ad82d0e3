"""Schemathesis: every operation of the committed openapi.json, every default check.

The app runs in-process with a token (so the auth checks have something to check) and
small limits (so generated boundary values answer 413 at once instead of computing for
minutes); the schema says nothing about limits, so it is the same schema either way.
"""

from __future__ import annotations

import shutil
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig

from service.app import create_app
from service.config import Settings
from tests.service._jobs import InlineWorker

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "schemathesis-token"
SMALL_LIMITS = {
    "max_samples": 1_000,
    "max_length": 200,
    "max_dataset_elements": 20_000,
    "max_upload_elements": 20_000,
    "max_sequence_length": 1_000,
    "max_include_elements": 20_000,
    "max_resolution": 64,
    "max_grid_points": 4_096,
    "max_points": 16,
    "max_compute_seconds": 2.0,
    "max_predict_sequences": 1_000,
    "max_predict_elements": 20_000,
    "max_datasets": 10_000,
    "max_iterations": 2_000,
    "max_job_work": 2_000_000,
    "max_starts": 4,
    "max_trajectory_points": 10_000,
    "max_train_wait": 2,
}


# The app is built at import: schemathesis copies the schema (and its app) per operation.
DATA_DIR = Path(tempfile.mkdtemp(prefix="rnnlab-schemathesis-"))
with (ROOT / "schemathesis.toml").open("rb") as config_file:
    CONFIG = tomllib.load(config_file)
CONFIG["auth"] = {"openapi": {"bearerAuth": {"bearer": TOKEN}}}
schema = schemathesis.openapi.from_path(
    ROOT / "openapi.json", config=SchemathesisConfig.from_dict(CONFIG)
)
schema.app = create_app(
    Settings(
        data_dir=DATA_DIR,
        api_token=TOKEN,  # type: ignore[arg-type]
        **SMALL_LIMITS,  # type: ignore[arg-type]
    )
)


_workers: list[InlineWorker] = []


def _ensure_worker() -> None:
    """Jobs need a worker (else `?wait=` waits in vain): one thread, once the lifespan ran."""
    jobs = getattr(schema.app.state, "jobs", None)
    if jobs is not None and not _workers:
        _workers.append(InlineWorker(jobs.backend).__enter__())


@pytest.fixture(scope="module", autouse=True)
def _clean_up() -> Iterator[None]:
    yield
    for worker in _workers:
        worker.__exit__(None, None, None)
    shutil.rmtree(DATA_DIR, ignore_errors=True)


@schema.parametrize()
def test_api(case: schemathesis.Case) -> None:
    _ensure_worker()
    case.call_and_validate()
