"""The dataset registry: turns a dataset reference into a ``core.Dataset``.

A reference is a stored id, an inline generation spec, inline sequences, or nothing
(the tutorial dataset). Generated datasets are deterministic, so their id is a hash of
the canonical spec and only the spec is stored; they are regenerated on demand and kept
in an LRU cache bounded in bytes. Uploaded datasets are content-addressed (uploading the
same data twice gives the same id) and stored by ``service.datasets.files``, so they
survive a restart. Limits are checked from the
reference alone, before anything is generated or loaded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio.to_thread
import numpy as np

from core.datasets import Dataset, from_sequences, generate, tutorial_dataset
from core.errors import InvalidInputError
from service.config import Settings
from service.datasets.cache import DatasetCache
from service.datasets.files import DatasetFiles, DatasetInfo, decode_cursor, encode_cursor
from service.datasets.schemas import DatasetData, DatasetRef, DatasetSpec
from service.errors import (
    LimitExceeded,
    Loc,
    NotFound,
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


class DatasetRegistry:
    """Create, find, load and list datasets; every method is blocking (run it off the loop)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._files = DatasetFiles(Path(settings.data_dir) / "datasets")
        self._cache = DatasetCache(settings.dataset_cache_bytes)
        self._write_lock = threading.Lock()

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

    def in_memory(self, ref: DatasetRef) -> bool:
        """Whether ``resolve(ref)`` would need no disk and no generating (a cheap check)."""
        if ref.dataset_id is not None:
            return self._cache.get(ref.dataset_id) is not None
        if ref.dataset is None:
            return self._cache.get(_TUTORIAL_KEY) is not None
        if isinstance(ref.dataset, DatasetSpec):
            return self._cache.get(spec_id(ref.dataset)) is not None
        return True  # inline sequences: already in the request

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
            # Validated when it was stored; not again (an older limit may have been wider).
            return self._generate(DatasetSpec.model_construct(**info.spec), ("dataset_id",))
        dataset = self._files.arrays(dataset_id)
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
            stored = self._files.count()
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
            self._files.store(info, dataset if spec is None else None)
        self._cache.put(dataset_id, dataset)
        return info

    def info(self, dataset_id: str) -> DatasetInfo:
        """The stored record of a dataset; NotFound when there is none."""
        return self._files.record(dataset_id)

    def page(self, limit: int, cursor: str | None = None) -> tuple[list[DatasetInfo], str | None]:
        """A page of stored datasets, oldest first; the cursor continues after the last one."""
        after = decode_cursor(cursor) if cursor else None
        records = sorted(self._files.records(), key=lambda r: (r.created_at, r.id))
        if after is not None:
            records = [r for r in records if (r.created_at, r.id) > after]
        page = records[:limit]
        more = len(records) > limit
        return page, encode_cursor(page[-1]) if more and page else None

    def delete(self, dataset_id: str) -> None:
        """Remove a stored dataset; NotFound when there is none."""
        with self._write_lock:
            self.info(dataset_id)
            self._files.remove(dataset_id)
        self._cache.discard(dataset_id)

    async def readiness(self) -> tuple[dict[str, str], list[str]]:
        """The readiness check of the store (see ``/ready``)."""
        return {"datasets": await anyio.to_thread.run_sync(self._files.writable)}, []


def _build(data: DatasetData, loc: Loc) -> Dataset:
    try:
        return from_sequences(data.sequences, data.targets)
    except InvalidInputError as exc:
        raise from_core(exc, loc) from exc


def sequences_payload(dataset: Dataset) -> list[Any]:
    """Rows without padding, as array slices (orjson writes them without a Python loop)."""
    width = dataset.width
    return [
        np.ascontiguousarray(row[width - n :])
        for row, n in zip(dataset.inputs, dataset.lengths.tolist(), strict=True)
    ]
