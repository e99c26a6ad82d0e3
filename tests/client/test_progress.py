"""The progress bar: drawn by tqdm only when asked, and a clear error without tqdm."""

from __future__ import annotations

import sys

import pytest

from rnnlab_client._progress import progress_bar
from rnnlab_client.models import JobState

RUNNING = JobState.from_json(
    {
        "id": "01BAR",
        "status": "running",
        "created_at": "2026-11-30T00:00:00Z",
        "progress": {
            "iteration": 40,
            "iterations": 100,
            "loss": 0.25,
            "weights": {"wx": 1.0, "wrec": 1.0},
        },
    }
)
DONE = JobState.from_json(
    {
        "id": "01BAR",
        "status": "succeeded",
        "created_at": "2026-11-30T00:00:00Z",
        "progress": {"iteration": 100, "iterations": 100, "loss": None, "weights": {}},
    }
)


def test_a_bar_follows_the_iterations_status_and_loss(capsys: pytest.CaptureFixture[str]) -> None:
    bar = progress_bar(True, RUNNING)
    bar.show(DONE)
    bar.close()
    err = capsys.readouterr().err
    assert "job 01BAR" in err
    assert "40/100" in err
    assert "loss=0.25" in err
    assert "100/100" in err
    assert "succeeded" in err


def test_no_bar_draws_nothing_and_needs_no_tqdm(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # as if tqdm were not installed
    bar = progress_bar(False, RUNNING)
    bar.show(DONE)
    bar.close()
    assert capsys.readouterr().err == ""


def test_asking_for_a_bar_without_tqdm_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with pytest.raises(ImportError, match=r"rnnlab-client\[progress\]"):
        progress_bar(True, RUNNING)
