"""core.fastpath.cache: statistics once per dataset, none when too wide or switched off."""

from __future__ import annotations

import threading

from core.datasets import from_sequences, tutorial_dataset
from core.fastpath import MAX_FAST_WIDTH, disabled, enabled, statistics


def test_statistics_are_cached_per_dataset_object() -> None:
    ds = tutorial_dataset()
    stats = statistics(ds)
    assert stats is not None
    assert statistics(ds) is stats
    assert statistics(tutorial_dataset()) is not stats  # another object, other statistics


def test_datasets_wider_than_the_limit_take_the_reference_path() -> None:
    edge = from_sequences([[1.0] * MAX_FAST_WIDTH, [0.0, 1.0]])
    assert statistics(edge) is not None
    wide = from_sequences([[1.0] * (MAX_FAST_WIDTH + 1), [0.0, 1.0]])
    assert statistics(wide) is None


def test_disabled_switches_the_fast_path_off_for_the_block() -> None:
    ds = tutorial_dataset()
    assert enabled()
    with disabled():
        assert not enabled()
        assert statistics(ds) is None
        with disabled():  # nests
            assert statistics(ds) is None
        assert statistics(ds) is None
    assert enabled()
    assert statistics(ds) is not None


def test_disabled_is_undone_when_the_block_raises() -> None:
    try:
        with disabled():
            raise RuntimeError
    except RuntimeError:
        pass
    assert enabled()


def test_disabled_applies_to_its_own_thread_only() -> None:
    seen: list[bool] = []
    inside, done = threading.Event(), threading.Event()

    def other() -> None:
        inside.wait()
        seen.append(statistics(tutorial_dataset()) is not None)
        done.set()

    thread = threading.Thread(target=other)
    thread.start()
    with disabled():
        inside.set()
        done.wait()
    thread.join()
    assert seen == [True]
