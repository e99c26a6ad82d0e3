"""Stored datasets on disk: whole files or none, safe names, failures without paths."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core.datasets import from_sequences
from service.datasets.files import DatasetFiles, DatasetInfo, decode_cursor, encode_cursor
from service.errors import BackendUnavailable, InsufficientStorage, InvalidInput, NotFound

INFO = DatasetInfo("u-abc", "uploaded", 2, 1, 2, False, "2026-01-01T00:00:00.000000+00:00")
DATA = from_sequences([np.array([0.5, 1.0]), np.array([2.0])], None)


def test_a_stored_dataset_reads_back_as_written(tmp_path: Path) -> None:
    files = DatasetFiles(tmp_path / "datasets")
    files.store(INFO, DATA)
    assert files.record("u-abc") == INFO
    assert list(files.records()) == [INFO]
    assert files.count() == 1
    back = files.arrays("u-abc")
    assert np.array_equal(back.inputs, DATA.inputs)
    assert np.array_equal(back.lengths, DATA.lengths)
    assert sorted(p.name for p in files.directory.iterdir()) == ["u-abc.json", "u-abc.npz"]


@pytest.mark.parametrize(
    ("code", "error"), [(errno.ENOSPC, InsufficientStorage), (errno.EIO, BackendUnavailable)]
)
def test_a_failed_write_leaves_nothing_and_names_no_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, error: type[Exception]
) -> None:
    files = DatasetFiles(tmp_path / "datasets")
    real_write = Path.open

    def failing_open(self: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if self.name.endswith(".json.tmp"):  # the arrays were written; the record fails
            raise OSError(code, "simulated", str(self))
        return real_write(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", failing_open)
    with pytest.raises(error) as caught:
        files.store(INFO, DATA)
    assert str(tmp_path) not in str(caught.value)
    assert list(files.directory.iterdir()) == []


@pytest.mark.parametrize("dataset_id", ["../etc/passwd", "a/b", "", "x" * 65, "u-1.npz", "é"])
def test_ids_that_could_name_another_file_are_not_found(tmp_path: Path, dataset_id: str) -> None:
    files = DatasetFiles(tmp_path)
    with pytest.raises(NotFound):
        files.record(dataset_id)
    with pytest.raises(NotFound):
        files.arrays(dataset_id)


def test_cursors_round_trip_and_foreign_ones_are_refused() -> None:
    assert decode_cursor(encode_cursor(INFO)) == (INFO.created_at, INFO.id)
    for bad in ["not-a-cursor!", "W10", "WzEsMl0"]:  # garbage, [], [1,2]
        with pytest.raises(InvalidInput):
            decode_cursor(bad)


def test_writable_says_why_not(tmp_path: Path) -> None:
    assert DatasetFiles(tmp_path / "datasets").writable() == "ok"
    (tmp_path / "file").write_bytes(b"")
    assert "cannot write" in DatasetFiles(tmp_path / "file" / "datasets").writable()
