"""The dataset cache: the most recently used datasets, within its bytes."""

from __future__ import annotations

from core.datasets import generate
from service.datasets.cache import DatasetCache


def test_least_recently_used_datasets_leave_first_and_oversized_ones_never_enter() -> None:
    small = [generate(10, 10, seed=seed) for seed in range(3)]  # 260 bytes each
    cache = DatasetCache(capacity=600)
    cache.put("a", small[0])
    cache.put("b", small[1])
    assert cache.get("a") is small[0]
    cache.put("c", small[2])  # evicts b, the least recently used
    assert cache.get("b") is None
    assert cache.get("a") is small[0]
    cache.put("big", generate(100, 10, seed=1))
    assert cache.get("big") is None
    cache.discard("a")
    assert cache.get("a") is None
    assert cache.get("c") is small[2]
