"""Fixtures of the job tests: the embedded backend and the job service over it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.config import Settings
from service.datasets.registry import DatasetRegistry
from service.jobs.backend import JobBackend, open_backend
from service.jobs.service import JobService


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, heartbeat_timeout=1.0)


@pytest.fixture
def backend(settings: Settings) -> Iterator[JobBackend]:
    backend = open_backend(settings)
    yield backend
    backend.close()


@pytest.fixture
def jobs(settings: Settings, backend: JobBackend) -> JobService:
    return JobService(settings, backend, DatasetRegistry(settings))
