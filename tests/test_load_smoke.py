"""``python -m bench.load`` end to end for a few seconds: both tables, with real numbers.

No timing is asserted (a busy machine gives other numbers, all of them valid). locust
and psutil are the ``load`` extra, not test dependencies, so CI does without them and
this test skips.
"""

from __future__ import annotations

import importlib.util
import math
import subprocess
import sys
from pathlib import Path

import pytest

from tests._needs import missing

ROOT = Path(__file__).resolve().parents[1]
MISSING = [m for m in ("locust", "psutil") if importlib.util.find_spec(m) is None]

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _load_extra() -> None:
    if MISSING:
        missing(f"{', '.join(MISSING)} not installed: pip install -e '.[load]' (or make load)")


def table_after(text: str, heading: str) -> list[list[str]]:
    """Cells of the first markdown table after the line starting with ``heading``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
        elif rows:
            break
    return rows[2:]  # without the header and the alignment row


def number(cell: str) -> float:
    return float(cell.replace(",", "").replace("%", "").replace("+", ""))


def test_short_run_writes_ramp_and_soak_tables(tmp_path: Path) -> None:
    output = tmp_path / "reliability.md"
    command = [sys.executable, "-m", "bench.load", "--steps", "2,4", "--step-seconds", "3"]
    command += ["--soak-seconds", "5", "--idle-seconds", "1", "--output", str(output)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    text = output.read_text()
    assert "Run: " in text
    assert "Machine: " in text

    ramp = table_after(text, "## Ramp")
    assert [row[0] for row in ramp] == ["2", "4"]
    for row in ramp:
        rps, p99, rss = number(row[1]), number(row[5]), number(row[-2])
        assert rps > 0
        assert math.isfinite(p99)
        assert p99 > 0
        assert rss > 0

    soak = table_after(text, "## Soak")
    labels = [row[0] for row in soak]
    assert any(label.startswith("api (pid") for label in labels)
    assert any(label.startswith("worker (pid") for label in labels)
    assert labels[-1] == "**all server processes**"
    total = soak[-1]
    assert number(total[1]) > 0  # RSS MiB, fresh
    assert number(total[3]) > 0  # RSS MiB, after
    assert math.isfinite(number(total[4]))  # growth per minute
    assert number(total[7]) > 0  # fds after
