"""The package itself: what it depends on, what importing it loads, what it exports."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import rnnlab_client

CLIENT = Path(__file__).resolve().parents[2] / "client"


def test_it_depends_on_httpx_and_numpy_only_with_tqdm_an_optional_extra() -> None:
    project = tomllib.loads((CLIENT / "pyproject.toml").read_text())["project"]
    names = {dep.split(">")[0].split("<")[0].split("=")[0] for dep in project["dependencies"]}
    assert names == {"httpx", "numpy"}
    assert [dep.split(">")[0] for dep in project["optional-dependencies"]["progress"]] == ["tqdm"]
    assert project["name"] == "rnnlab-client"
    assert project["scripts"] == {"rnnlab-client": "rnnlab_client.cli:main"}
    assert (CLIENT / "rnnlab_client" / "py.typed").exists()


def test_importing_it_loads_neither_the_service_nor_tqdm() -> None:
    probe = (
        "import sys, rnnlab_client, rnnlab_client.cli; "
        "loaded = [m for m in sys.modules if m.split('.')[0] in "
        "('service', 'core', 'fastapi', 'starlette', 'pydantic', 'tqdm')]; "
        "print(loaded)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=CLIENT
    )
    assert result.stdout.strip() == "[]"


def test_everything_exported_exists_and_the_version_is_the_packages() -> None:
    for name in rnnlab_client.__all__:
        assert hasattr(rnnlab_client, name), name
    assert rnnlab_client.__version__.count(".") == 2
