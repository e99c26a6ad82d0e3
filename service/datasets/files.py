"""Stored datasets on disk: a JSON record per dataset, and the arrays of uploaded ones.

Under ``data_dir/datasets/``, ``<id>.json`` holds a dataset's record and ``<id>.npz`` the
arrays of uploaded data (generated data is regenerated from the spec in its record). Every
file is written whole or not at all (a temporary file renamed over it), ids become file
names only when they cannot name anything else, and a failing disk reaches clients as what
it means for them (507 when full, 503 otherwise), never as a path.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import errno
import json
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from core.datasets import Dataset
from service.errors import (
    BackendUnavailable,
    InsufficientStorage,
    InvalidInput,
    NotFound,
    ServiceError,
)

__all__ = ["DatasetFiles", "DatasetInfo", "decode_cursor", "encode_cursor"]

logger = logging.getLogger("rnnlab.datasets")


@dataclass(frozen=True)
class DatasetInfo:
    """What the store knows about a dataset without loading it (its ``.json`` record)."""

    id: str
    kind: Literal["generated", "uploaded"]
    n_samples: int
    min_length: int
    max_length: int
    is_binary: bool
    created_at: str
    spec: dict[str, Any] | None = None

    @property
    def elements(self) -> int:
        """Size of the padded inputs array (sequences x longest sequence)."""
        return self.n_samples * self.max_length


class DatasetFiles:
    """The dataset directory; every method is blocking (run it off the loop)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def record(self, dataset_id: str) -> DatasetInfo:
        """A dataset's record; NotFound when there is none."""
        try:
            return DatasetInfo(**json.loads(self._path(dataset_id, ".json").read_bytes()))
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound(f"no dataset with id {dataset_id!r}") from None
        except OSError as exc:
            raise self._read_error(exc) from exc

    def records(self) -> Iterator[DatasetInfo]:
        """Every stored record, in no particular order."""
        for path in self.directory.glob("*.json") if self.directory.is_dir() else ():
            try:
                yield DatasetInfo(**json.loads(path.read_bytes()))
            except FileNotFoundError:  # deleted while listing
                continue

    def count(self) -> int:
        return sum(1 for _ in self.directory.glob("*.json")) if self.directory.is_dir() else 0

    def arrays(self, dataset_id: str) -> Dataset:
        """The arrays of an uploaded dataset."""
        try:
            with np.load(self._path(dataset_id, ".npz"), allow_pickle=False) as arrays:
                return Dataset(arrays["inputs"], arrays["lengths"], arrays["targets"])
        except FileNotFoundError:
            raise NotFound(f"no dataset with id {dataset_id!r}") from None
        except OSError as exc:
            raise self._read_error(exc) from exc

    def store(self, info: DatasetInfo, dataset: Dataset | None) -> None:
        """Write a record, with the arrays first when given; on failure nothing stays."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            if dataset is not None:
                inputs, lengths, targets = dataset.inputs, dataset.lengths, dataset.targets
                _write_atomic(
                    self._path(info.id, ".npz"),
                    lambda f: np.savez(f, inputs=inputs, lengths=lengths, targets=targets),
                )
            record = json.dumps(asdict(info)).encode()
            _write_atomic(self._path(info.id, ".json"), lambda f: f.write(record))
        except OSError as exc:
            with contextlib.suppress(OSError):
                self._path(info.id, ".npz").unlink(missing_ok=True)
            raise self._write_error(exc) from exc

    def remove(self, dataset_id: str) -> None:
        """Delete a dataset's files (the record first: a dataset without one is gone)."""
        try:
            self._path(dataset_id, ".json").unlink(missing_ok=True)
            self._path(dataset_id, ".npz").unlink(missing_ok=True)
        except OSError as exc:
            raise self._write_error(exc) from exc

    def writable(self) -> str:
        """ "ok" when the directory exists (or can be made) and is writable, else why."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            probe = self.directory / f".probe-{os.getpid()}-{threading.get_ident()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            logger.warning("dataset store %s unusable: %s", self.directory, exc)
            return f"dataset store cannot write: {exc.strerror or exc}"
        return "ok"

    def _path(self, dataset_id: str, suffix: str) -> Path:
        if not _is_safe_id(dataset_id):  # ids become file names: no separators, no dots
            raise NotFound(f"no dataset with id {dataset_id!r}")
        return self.directory / f"{dataset_id}{suffix}"

    def _read_error(self, exc: OSError) -> ServiceError:
        logger.error("dataset store %s: read failed: %s", self.directory, exc)
        return BackendUnavailable(
            f"the dataset store cannot be read ({exc.strerror or 'error'})", retry_after=30
        )

    def _write_error(self, exc: OSError) -> ServiceError:
        """The client's view of a failed write: no path, and what it means for them."""
        logger.error("dataset store %s: write failed: %s", self.directory, exc)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return InsufficientStorage(
                "the dataset store is full: nothing was stored; retry once space is freed"
            )
        return BackendUnavailable(
            f"the dataset store cannot write ({exc.strerror or 'error'}): nothing was stored",
            retry_after=30,
        )


def _is_safe_id(dataset_id: str) -> bool:
    return (
        0 < len(dataset_id) <= 64
        and dataset_id.isascii()
        and all(c.isalnum() or c in "-_" for c in dataset_id)
    )


def _write_atomic(path: Path, write: Any) -> None:
    """``write(file)`` into ``path`` whole or not at all (no temporary file stays behind)."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with tmp.open("wb") as f:
            write(f)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def encode_cursor(info: DatasetInfo) -> str:
    """An opaque cursor that continues a listing after ``info`` (oldest first)."""
    raw = json.dumps([info.created_at, info.id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    """(created_at, id) a cursor continues after; 422 when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, dataset_id = json.loads(raw)
        if not isinstance(created_at, str) or not isinstance(dataset_id, str):
            raise ValueError(cursor)
    except (ValueError, TypeError, binascii.Error):
        raise InvalidInput(("query", "cursor"), "not a cursor returned by this endpoint") from None
    return created_at, dataset_id
