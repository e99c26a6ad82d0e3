"""The README's curl examples, run against a live server; its settings table, checked.

Every fenced ```sh block whose first command is ``curl`` is run with bash (errexit,
pipefail) in a scratch directory, with the server's real port in place of 8000. Each
curl in them must fail on HTTP errors (``-f``), so a 4xx/5xx answer fails the test.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from scripts.readme import rewritten
from service.config import Settings
from tests._needs import missing
from tests.service._api import live_server

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BASE = "http://127.0.0.1:8000"


def curl_blocks(text: str) -> list[str]:
    blocks = re.findall(r"^```sh\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)
    return [block for block in blocks if block.lstrip().startswith("curl")]


def test_readme_has_curl_examples_for_the_api() -> None:
    commands = "\n".join(curl_blocks(README))
    for path in [
        "/health",
        "/ready",
        "/metrics",
        "/datasets",
        "/datasets/g-",
        "/loss",
        "/gradient",
        "/gradient-check",
        "/loss-surface",
        "/gradient-over-time",
        "/predict",
    ]:
        assert f"{BASE}{path}" in commands, path
    for line in commands.splitlines():
        if line.startswith("curl"):
            assert re.match(r"curl (-\w*f\w*|--fail)", line), f"curl without -f: {line}"
            assert BASE in line, line


@pytest.mark.slow
def test_readme_curl_examples_run_against_a_live_server(tmp_path: Path) -> None:
    if shutil.which("curl") is None:
        missing("curl is not installed: apt-get install curl")
    blocks = curl_blocks(README)
    assert blocks
    workdir = tmp_path / "work"
    workdir.mkdir()
    # The whole product, as `rnnlab serve` runs it (job examples need the workers).
    with live_server(tmp_path / "data", RNNLAB_EMBEDDED_WORKERS="1") as (base, _):
        for block in blocks:
            script = "set -euo pipefail\n" + block.replace(BASE, base)
            result = subprocess.run(
                ["bash", "-c", script],
                cwd=workdir,
                capture_output=True,
                text=True,
                timeout=180,
            )
            assert result.returncode == 0, (
                f"README block failed ({result.returncode}):\n{block}\n"
                f"stdout: {result.stdout[-2000:]}\nstderr: {result.stderr[-2000:]}"
            )
    surface = (workdir / "surface.npy").read_bytes()
    assert surface.startswith(b"\x93NUMPY")


def _settings_rows() -> dict[str, str]:
    """Every README table row that names a setting: `NAME` -> stated default."""
    rows = re.findall(r"^\| `([A-Z_]+)` \| ([^|]+) \|", README, flags=re.MULTILINE)
    fields = {name.upper() for name in Settings.model_fields}
    return {name.lower(): default.strip() for name, default in rows if name in fields}


def test_settings_tables_state_the_real_defaults() -> None:
    rows = _settings_rows()
    assert len(rows) >= 20
    defaults = Settings()
    for name, stated in rows.items():
        actual = getattr(defaults, name)
        if stated == "(the machine's cores)":
            assert actual == len(os.sched_getaffinity(0)), name
            continue
        if isinstance(actual, bool) or actual is None or actual == "" or actual == []:
            assert stated in {"(unset)", "(empty)", str(actual).lower()}, name
        elif isinstance(actual, int | float):
            assert float(stated.replace(",", "")) == actual, name
        else:
            assert stated.strip("`") == str(actual), name


def test_every_setting_is_documented() -> None:
    for name in Settings.model_fields:
        env = name.upper()
        assert f"RNNLAB_{env}" in README or f"`{env}`" in README, f"RNNLAB_{env} is undocumented"


def test_every_size_limit_has_a_row_with_its_default() -> None:
    rows = _settings_rows()
    for name in Settings.model_fields:
        if name.startswith("max_"):
            assert name in rows, f"{name} is missing from the README's settings tables"


def test_the_generated_sections_are_current() -> None:
    assert rewritten(README) == README, "regenerate them: make readme"
