"""The dataset registry: turns a dataset reference into a ``core.Dataset``.

A reference is a stored id, an inline generation spec, inline sequences, or nothing
(the tutorial dataset). Generated datasets are deterministic, so their id is a hash of
the canonical spec and only the spec is stored; they are regenerated on demand and kept
in a small LRU cache bounded by elements. Uploaded datasets are content-addressed
(uploading the same data twice gives the same id) and stored as ``.npz`` under
``data_dir/datasets/``, so they survive a restart. Limits are checked from the
reference alone, before anything is generated or loaded.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import errno
import hashlib
import json
import logging
import os
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import anyio.to_thread
import numpy as np
from cachetools import LRUCache

from core.datasets import Dataset, from_sequences, generate, tutorial_dataset
from core.errors import InvalidInputError
from service.config import Settings
from service.datasets.schemas import DatasetData, DatasetRef, DatasetSpec
from service.errors import (
    BackendUnavailable,
    InsufficientStorage,
    InvalidInput,
    LimitExceeded,
    Loc,
    NotFound,
    ServiceError,
    from_core,
)

__all__ = [
    "TUTORIAL_SPEC",
    "DatasetInfo",
    "DatasetRegistry",
    "spec_id",
]

logger = logging.getLogger("rnnlab.datasets")

TUTORIAL_SPEC = DatasetSpec(n_samples=20, length=10, seed=1, generator="legacy")
_TUTORIAL_KEY = "tutorial"


@dataclass(frozen=True)
class DatasetInfo:
    """What the store knows about a dataset without loading it."""

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


def spec_id(spec: DatasetSpec) -> str:
    """Deterministic id of a generation spec: hash of its canonical JSON (defaults filled)."""
    canonical = json.dumps(spec.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return "g-" + hashlib.sha256(canonical.encode()).hexdigest()[:20]


def _data_id(dataset: Dataset) -> str:
    """Content address of uploaded data: same rows and targets, same id."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(dataset.lengths, dtype="<i8").tobytes())
    digest.update(np.ascontiguousarray(dataset.inputs, dtype="<f8").tobytes())
    digest.update(np.ascontiguousarray(dataset.targets, dtype="<f8").tobytes())
    return "u-" + digest.hexdigest()[:20]


def _nbytes(dataset: Dataset) -> int:
    return int(dataset.inputs.nbytes + dataset.targets.nbytes + dataset.lengths.nbytes)


class _DatasetCache:
    """Recently used datasets, at most ``capacity`` bytes of them (cachetools' LRU, locked:
    the API's worker threads share it)."""

    def __init__(self, capacity: int) -> None:
        self._items: LRUCache[str, Dataset] = LRUCache(maxsize=capacity, getsizeof=_nbytes)
        self._lock = threading.Lock()

    def get(self, key: str) -> Dataset | None:
        with self._lock:
            found: Dataset | None = self._items.get(key)
        return found

    def put(self, key: str, dataset: Dataset) -> None:
        if _nbytes(dataset) > self._items.maxsize:
            return  # larger than the whole cache: not kept
        with self._lock:
            self._items[key] = dataset

    def discard(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)


class DatasetRegistry:
    """Create, find, load and list datasets; every method is blocking (run it off the loop)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._dir = Path(settings.data_dir) / "datasets"
        self._cache = _DatasetCache(settings.dataset_cache_bytes)
        self._write_lock = threading.Lock()

    @property
    def directory(self) -> Path:
        return self._dir

    # -- limits: cheap checks from the reference alone -------------------------------------

    def check_spec(self, spec: DatasetSpec, loc: Loc = ("body",)) -> None:
        """Raise LimitExceeded when generating ``spec`` would be over a configured limit."""
        s = self._settings
        if spec.n_samples > s.max_samples:
            raise LimitExceeded(
                "max_samples", s.max_samples, spec.n_samples, "n_samples", (*loc, "n_samples")
            )
        length_field = "length" if spec.length is not None else "max_length"
        if spec.longest > s.max_length:
            raise LimitExceeded(
                "max_length", s.max_length, spec.longest, length_field, (*loc, length_field)
            )
        elements = spec.n_samples * spec.longest
        if elements > s.max_dataset_elements:
            raise LimitExceeded(
                "max_dataset_elements",
                s.max_dataset_elements,
                elements,
                f"n_samples x {length_field}",
                loc,
            )

    def check_data(self, data: DatasetData, loc: Loc = ("body",)) -> None:
        """Raise LimitExceeded when inline sequences are over a configured limit."""
        s = self._settings
        n = len(data.sequences)
        if n > s.max_samples:
            raise LimitExceeded("max_samples", s.max_samples, n, "sequences", (*loc, "sequences"))
        longest = max(len(row) for row in data.sequences)
        if longest > s.max_sequence_length:
            index = next(i for i, row in enumerate(data.sequences) if len(row) == longest)
            raise LimitExceeded(
                "max_sequence_length",
                s.max_sequence_length,
                longest,
                "the longest sequence",
                (*loc, "sequences", index),
            )
        if n * longest > s.max_upload_elements:
            raise LimitExceeded(
                "max_upload_elements",
                s.max_upload_elements,
                n * longest,
                "sequences x longest sequence",
                (*loc, "sequences"),
            )

    def shape(self, ref: DatasetRef, loc: Loc = ("body", "dataset")) -> tuple[int, int]:
        """(sequences, longest sequence) of the referenced dataset, after its limit checks."""
        if ref.dataset_id is not None:
            info = self.info(ref.dataset_id)
            return info.n_samples, info.max_length
        source = ref.dataset
        if source is None:
            return TUTORIAL_SPEC.n_samples, TUTORIAL_SPEC.longest
        if isinstance(source, DatasetSpec):
            self.check_spec(source, loc)
            return source.n_samples, source.longest
        self.check_data(source, loc)
        return len(source.sequences), max(len(row) for row in source.sequences)

    # -- resolving -----------------------------------------------------------------------------

    def resolve(self, ref: DatasetRef, loc: Loc = ("body", "dataset")) -> Dataset:
        """The dataset a request refers to (limits are checked first).

        ``loc`` is where an inline dataset sits in the request, for error locations.
        """
        if ref.dataset_id is not None:
            return self.load(ref.dataset_id)
        source = ref.dataset
        if source is None:
            return self._tutorial()
        if isinstance(source, DatasetSpec):
            self.check_spec(source, loc)
            return self._generate(source, loc)
        self.check_data(source, loc)
        return _build(source, loc)

    def load(self, dataset_id: str) -> Dataset:
        """A stored dataset: regenerated from its spec or read from its .npz."""
        cached = self._cache.get(dataset_id)
        if cached is not None:
            return cached
        info = self.info(dataset_id)
        if info.kind == "generated":
            assert info.spec is not None
            return self._generate(DatasetSpec.model_validate(info.spec), ("dataset_id",))
        with np.load(self._path(dataset_id, ".npz"), allow_pickle=False) as arrays:
            dataset = Dataset(arrays["inputs"], arrays["lengths"], arrays["targets"])
        self._cache.put(dataset_id, dataset)
        return dataset

    def _generate(self, spec: DatasetSpec, loc: Loc) -> Dataset:
        key = spec_id(spec)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        try:
            dataset = generate(
                spec.n_samples,
                spec.length,
                min_length=spec.min_length,
                max_length=spec.max_length,
                seed=spec.seed,
                p_one=spec.p_one,
                generator=spec.generator,
            )
        except InvalidInputError as exc:
            raise from_core(exc, loc) from exc
        self._cache.put(key, dataset)
        return dataset

    def _tutorial(self) -> Dataset:
        dataset = self._cache.get(_TUTORIAL_KEY)
        if dataset is None:
            dataset = tutorial_dataset()
            self._cache.put(_TUTORIAL_KEY, dataset)
        return dataset

    # -- the store -----------------------------------------------------------------------------

    def create(self, source: DatasetSpec | DatasetData, loc: Loc = ("body",)) -> DatasetInfo:
        """Store a dataset (idempotent: the same spec or data gives the same id)."""
        if isinstance(source, DatasetSpec):
            self.check_spec(source, loc)
            dataset = self._generate(source, loc)
            dataset_id = spec_id(source)
            spec: dict[str, Any] | None = source.model_dump(mode="json")
        else:
            self.check_data(source, loc)
            dataset = _build(source, loc)
            dataset_id = _data_id(dataset)
            spec = None
        with self._write_lock:
            try:
                return self.info(dataset_id)
            except NotFound:
                pass
            stored = self._count()
            if stored >= self._settings.max_datasets:
                raise LimitExceeded(
                    "max_datasets",
                    self._settings.max_datasets,
                    stored + 1,
                    "the number of stored datasets (delete some with DELETE /datasets/{id})",
                )
            info = DatasetInfo(
                id=dataset_id,
                kind="generated" if spec is not None else "uploaded",
                n_samples=dataset.n_samples,
                min_length=dataset.min_length,
                max_length=dataset.max_length,
                is_binary=dataset.is_binary,
                created_at=datetime.now(UTC).isoformat(timespec="microseconds"),
                spec=spec,
            )
            try:
                self._dir.mkdir(parents=True, exist_ok=True)
                if spec is None:
                    self._write_npz(dataset_id, dataset)
                _write_atomic(self._path(dataset_id, ".json"), json.dumps(asdict(info)).encode())
            except OSError as exc:
                with contextlib.suppress(OSError):  # no half-stored dataset stays behind
                    self._path(dataset_id, ".npz").unlink(missing_ok=True)
                raise self._write_error(exc) from exc
        self._cache.put(dataset_id, dataset)
        return info

    def info(self, dataset_id: str) -> DatasetInfo:
        """The stored record of a dataset; NotFound when there is none."""
        path = self._path(dataset_id, ".json")
        try:
            record = json.loads(path.read_bytes())
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound(f"no dataset with id {dataset_id!r}") from None
        except OSError as exc:
            raise self._read_error(exc) from exc
        return DatasetInfo(**record)

    def page(self, limit: int, cursor: str | None = None) -> tuple[list[DatasetInfo], str | None]:
        """A page of stored datasets, oldest first; the cursor continues after the last one."""
        after = _decode_cursor(cursor) if cursor else None
        records: list[DatasetInfo] = []
        for path in self._dir.glob("*.json") if self._dir.is_dir() else ():
            try:
                records.append(DatasetInfo(**json.loads(path.read_bytes())))
            except FileNotFoundError:  # deleted while listing
                continue
        records.sort(key=lambda r: (r.created_at, r.id))
        if after is not None:
            records = [r for r in records if (r.created_at, r.id) > after]
        page = records[:limit]
        more = len(records) > limit
        return page, _encode_cursor(page[-1].created_at, page[-1].id) if more and page else None

    def delete(self, dataset_id: str) -> None:
        """Remove a stored dataset; NotFound when there is none."""
        with self._write_lock:
            self.info(dataset_id)
            try:
                self._path(dataset_id, ".json").unlink(missing_ok=True)
                self._path(dataset_id, ".npz").unlink(missing_ok=True)
            except OSError as exc:
                raise self._write_error(exc) from exc
        self._cache.discard(dataset_id)

    def writable(self) -> str:
        """ "ok" when the store's directory exists (or can be made) and is writable, else why."""
        try:
            self._dir.mkdir(parents=True, exist_ok=True)
            probe = self._dir / f".probe-{os.getpid()}-{threading.get_ident()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            logger.warning("dataset store %s unusable: %s", self._dir, exc)
            return f"dataset store cannot write: {exc.strerror or exc}"
        return "ok"

    async def readiness(self) -> tuple[dict[str, str], list[str]]:
        """The readiness check of the store (see ``/ready``)."""
        return {"datasets": await anyio.to_thread.run_sync(self.writable)}, []

    def _count(self) -> int:
        return sum(1 for _ in self._dir.glob("*.json")) if self._dir.is_dir() else 0

    def _path(self, dataset_id: str, suffix: str) -> Path:
        if not _is_safe_id(dataset_id):  # ids become file names: no separators, no dots
            raise NotFound(f"no dataset with id {dataset_id!r}")
        return self._dir / f"{dataset_id}{suffix}"

    def _write_npz(self, dataset_id: str, dataset: Dataset) -> None:
        path = self._path(dataset_id, ".npz")
        tmp = path.with_name(path.name + ".tmp")
        try:
            with tmp.open("wb") as f:
                np.savez(f, inputs=dataset.inputs, lengths=dataset.lengths, targets=dataset.targets)
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)

    def _read_error(self, exc: OSError) -> ServiceError:
        logger.error("dataset store %s: read failed: %s", self._dir, exc)
        return BackendUnavailable(
            f"the dataset store cannot be read ({exc.strerror or 'error'})", retry_after=30
        )

    def _write_error(self, exc: OSError) -> ServiceError:
        """The client's view of a failed write: no path, and what it means for them."""
        logger.error("dataset store %s: write failed: %s", self._dir, exc)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return InsufficientStorage(
                "the dataset store is full: nothing was stored; retry once space is freed"
            )
        return BackendUnavailable(
            f"the dataset store cannot write ({exc.strerror or 'error'}): nothing was stored",
            retry_after=30,
        )


def _build(data: DatasetData, loc: Loc) -> Dataset:
    try:
        return from_sequences(data.sequences, data.targets)
    except InvalidInputError as exc:
        raise from_core(exc, loc) from exc


def _is_safe_id(dataset_id: str) -> bool:
    return (
        0 < len(dataset_id) <= 64
        and dataset_id.isascii()
        and all(c.isalnum() or c in "-_" for c in dataset_id)
    )


def _write_atomic(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` whole or not at all (no temporary file is left behind)."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_bytes(content)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def _encode_cursor(created_at: str, dataset_id: str) -> str:
    raw = json.dumps([created_at, dataset_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, dataset_id = json.loads(raw)
        if not isinstance(created_at, str) or not isinstance(dataset_id, str):
            raise ValueError(cursor)
    except (ValueError, TypeError, binascii.Error):
        raise InvalidInput(("query", "cursor"), "not a cursor returned by this endpoint") from None
    return created_at, dataset_id


def sequences_payload(dataset: Dataset) -> list[Any]:
    """Rows without padding, as array slices (orjson writes them without a Python loop)."""
    width = dataset.width
    return [
        np.ascontiguousarray(row[width - n :])
        for row, n in zip(dataset.inputs, dataset.lengths.tolist(), strict=True)
    ]
