"""Dockerfile and docker-compose.yml: linted and schema-checked (no Docker engine needed).

CI has no Docker engine, so the files are checked the way the issue asks: hadolint on the
Dockerfile (warnings fail) and the compose-spec JSON schema on the compose file, plus the
properties the deployment relies on (non-root, exec-form command, health check, one image
for API and worker, Redis with a health check and a volume, an embedded profile).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests._needs import missing

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"


def tool(name: str) -> str:
    """A CLI from the test environment (next to this Python, else on PATH)."""
    here = Path(sys.executable).parent / name
    found = str(here) if here.exists() else shutil.which(name)
    if found is None:
        missing(f"{name} is not installed (pip install -e '.[test]')")
    return found


def test_hadolint_passes_at_warning_level() -> None:
    run = subprocess.run(
        [tool("hadolint"), "--failure-threshold", "warning", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_compose_file_matches_the_compose_spec() -> None:
    run = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def test_dockerfile_is_multi_stage_slim_non_root_exec_form_with_healthcheck() -> None:
    steps = instructions()
    bases = [args for keyword, args in steps if keyword == "FROM"]
    assert len(bases) >= 2
    assert all("slim" in base for base in bases)
    final = steps[max(i for i, (k, _) in enumerate(steps) if k == "FROM") :]
    users = [args for keyword, args in final if keyword == "USER"]
    assert users
    assert users[-1].split(":")[0] not in {"root", "0"}
    [cmd] = [args for keyword, args in final if keyword == "CMD"]
    assert cmd.startswith("[")
    assert '"rnnlab"' in cmd
    [health] = [args for keyword, args in final if keyword == "HEALTHCHECK"]
    assert "/health" in health
    assert "CMD [" in health


def test_compose_runs_one_image_as_api_replicas_workers_and_embedded() -> None:
    try:
        import yaml
    except ImportError:
        missing("pyyaml is not installed (pip install -e '.[test]')")
    compose: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    images = {services[name]["image"] for name in ("api", "worker", "embedded")}
    assert len(images) == 1
    redis = services["redis"]
    assert "healthcheck" in redis
    assert any(volume.endswith(":/data") for volume in redis["volumes"])
    api, worker = services["api"], services["worker"]
    assert api["environment"]["RNNLAB_EMBEDDED_WORKERS"] == "0"
    assert api["deploy"]["replicas"] >= 2
    assert api["environment"]["RNNLAB_QUEUE_URL"].startswith("redis://redis:")
    assert worker["command"][:2] == ["rnnlab", "worker"]
    assert worker["environment"]["RNNLAB_QUEUE_URL"] == api["environment"]["RNNLAB_QUEUE_URL"]
    for service in (api, worker):
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
    embedded = services["embedded"]
    assert embedded["profiles"] == ["embedded"]
    assert "RNNLAB_QUEUE_URL" not in embedded.get("environment", {})


def test_the_build_context_leaves_out_environments_data_and_history() -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".venv/", "data/", ".git/"} <= ignored
