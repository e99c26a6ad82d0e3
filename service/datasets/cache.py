"""Datasets kept in memory between requests, bounded in bytes.

Generating or loading a large dataset costs more than most computations on it, and the
same few datasets are asked for again and again (a surface, then its gradient, then a
job), so the registry keeps the most recently used ones up to ``dataset_cache_bytes``.
"""

from __future__ import annotations

import threading

from cachetools import LRUCache

from core.datasets import Dataset

__all__ = ["DatasetCache"]


def _nbytes(dataset: Dataset) -> int:
    return int(dataset.inputs.nbytes + dataset.targets.nbytes + dataset.lengths.nbytes)


class DatasetCache:
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
