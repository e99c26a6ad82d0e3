"""The dataset registry: ids, limits before work, the store on disk, the cache, pages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import service.datasets.registry as registry_module
from core.datasets import generate, tutorial_dataset
from service.config import Settings
from service.datasets.registry import DatasetRegistry, spec_id
from service.datasets.schemas import DatasetData, DatasetRef, DatasetSpec
from service.errors import InvalidInput, LimitExceeded, NotFound


def make(tmp_path: Path, **limits: int) -> DatasetRegistry:
    return DatasetRegistry(Settings(data_dir=tmp_path, **limits))  # type: ignore[arg-type]


def test_spec_id_is_deterministic_and_canonical() -> None:
    a = DatasetSpec(n_samples=20, length=10, seed=1, generator="legacy")
    b = DatasetSpec.model_validate_json(
        '{"generator": "legacy", "seed": 1, "length": 10, "n_samples": 20, "p_one": 0.5}'
    )
    assert spec_id(a) == spec_id(b)
    assert spec_id(a).startswith("g-")
    assert len(spec_id(a)) == 22
    assert spec_id(a) != spec_id(DatasetSpec(n_samples=20, length=10, seed=2, generator="legacy"))
    assert spec_id(a) != spec_id(DatasetSpec(n_samples=20, length=10, seed=1))


def test_no_reference_is_the_tutorial_dataset(tmp_path: Path) -> None:
    dataset = make(tmp_path).resolve(DatasetRef())
    expected = tutorial_dataset()
    np.testing.assert_array_equal(dataset.inputs, expected.inputs)
    np.testing.assert_array_equal(dataset.targets, expected.targets)


def test_inline_spec_is_generated_like_core(tmp_path: Path) -> None:
    spec = DatasetSpec(n_samples=50, min_length=3, max_length=9, seed=4, p_one=0.3)
    dataset = make(tmp_path).resolve(DatasetRef(dataset=spec))
    expected = generate(50, min_length=3, max_length=9, seed=4, p_one=0.3)
    np.testing.assert_array_equal(dataset.inputs, expected.inputs)
    np.testing.assert_array_equal(dataset.lengths, expected.lengths)


def test_inline_data_keeps_ragged_rows_and_default_targets(tmp_path: Path) -> None:
    data = DatasetData(sequences=[[0.5, 1.0], [2.0, 0.0, 1.0]])
    dataset = make(tmp_path).resolve(DatasetRef(dataset=data))
    assert dataset.sequences() == [[0.5, 1.0], [2.0, 0.0, 1.0]]
    np.testing.assert_array_equal(dataset.targets, [1.5, 3.0])


@pytest.mark.parametrize(
    ("spec", "limits", "name", "loc"),
    [
        ({"n_samples": 11, "length": 2}, {"max_samples": 10}, "max_samples", ["n_samples"]),
        ({"n_samples": 2, "length": 11}, {"max_length": 10}, "max_length", ["length"]),
        (
            {"n_samples": 2, "min_length": 1, "max_length": 11},
            {"max_length": 10},
            "max_length",
            ["max_length"],
        ),
        ({"n_samples": 6, "length": 5}, {"max_dataset_elements": 29}, "max_dataset_elements", []),
    ],
)
def test_spec_limits_are_checked_before_generating(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    spec: dict[str, int],
    limits: dict[str, int],
    name: str,
    loc: list[str],
) -> None:
    def must_not_generate(*args: object, **kwargs: object) -> None:
        raise AssertionError("generated despite the limit")

    monkeypatch.setattr(registry_module, "generate", must_not_generate)
    registry = make(tmp_path, **limits)
    ref = DatasetRef(dataset=DatasetSpec.model_validate(spec))
    with pytest.raises(LimitExceeded) as caught:
        registry.resolve(ref)
    assert caught.value.limit == name
    assert caught.value.loc == ("body", "dataset", *loc)
    with pytest.raises(LimitExceeded):
        registry.create(DatasetSpec.model_validate(spec))


@pytest.mark.parametrize(
    ("sequences", "limits", "name"),
    [
        ([[1.0]] * 4, {"max_samples": 3}, "max_samples"),
        ([[1.0] * 6, [1.0]], {"max_sequence_length": 5}, "max_sequence_length"),
        ([[1.0] * 5, [1.0], [1.0]], {"max_upload_elements": 14}, "max_upload_elements"),
    ],
)
def test_upload_limits(
    tmp_path: Path, sequences: list[list[float]], limits: dict[str, int], name: str
) -> None:
    with pytest.raises(LimitExceeded) as caught:
        make(tmp_path, **limits).create(DatasetData(sequences=sequences))
    assert caught.value.limit == name


def test_core_errors_are_located_in_the_request(tmp_path: Path) -> None:
    spec = DatasetSpec(n_samples=2, length=2, seed=2**32, generator="legacy")
    with pytest.raises(InvalidInput) as caught:
        make(tmp_path).resolve(DatasetRef(dataset=spec))
    assert caught.value.loc == ("body", "dataset", "seed")


def test_generated_dataset_stores_only_its_spec_and_is_regenerated(tmp_path: Path) -> None:
    spec = DatasetSpec(n_samples=30, min_length=2, max_length=7, seed=9)
    info = make(tmp_path).create(spec)
    assert info.id == spec_id(spec)
    assert (info.kind, info.n_samples) == ("generated", 30)
    assert sorted(p.name for p in (tmp_path / "datasets").iterdir()) == [f"{info.id}.json"]
    reloaded = make(tmp_path).load(info.id)  # a fresh registry: nothing cached
    expected = generate(30, min_length=2, max_length=7, seed=9)
    np.testing.assert_array_equal(reloaded.inputs, expected.inputs)
    assert (info.min_length, info.max_length) == (expected.min_length, expected.max_length)


def test_uploaded_dataset_survives_a_restart_and_is_content_addressed(tmp_path: Path) -> None:
    data = DatasetData(sequences=[[0.25, -1.0, 3.0], [7.0]], targets=[1.0, 2.0])
    first = make(tmp_path).create(data)
    assert first.kind == "uploaded"
    assert first.id.startswith("u-")
    again = make(tmp_path).create(DatasetData(sequences=[[0.25, -1.0, 3.0], [7.0]], targets=[1, 2]))
    assert again == first  # same content, same id, same record
    other = make(tmp_path).create(DatasetData(sequences=[[0.25, -1.0, 3.0], [7.0]]))
    assert other.id != first.id  # different targets
    loaded = make(tmp_path).load(first.id)
    assert loaded.sequences() == [[0.25, -1.0, 3.0], [7.0]]
    np.testing.assert_array_equal(loaded.targets, [1.0, 2.0])
    assert not list((tmp_path / "datasets").glob("*.tmp"))


def test_unknown_and_unsafe_ids_are_not_found(tmp_path: Path) -> None:
    registry = make(tmp_path)
    for dataset_id in ["g-0000", "../etc/passwd", "a/b", "", "x" * 65, "u-1.npz"]:
        with pytest.raises(NotFound):
            registry.info(dataset_id)
        with pytest.raises(NotFound):
            registry.load(dataset_id)


def test_pages_follow_creation_order_with_a_cursor(tmp_path: Path) -> None:
    registry = make(tmp_path)
    ids = [registry.create(DatasetSpec(n_samples=2, length=2, seed=seed)).id for seed in range(5)]
    page, cursor = registry.page(2)
    seen = [info.id for info in page]
    while cursor is not None:
        page, cursor = registry.page(2, cursor)
        seen += [info.id for info in page]
    assert seen == ids
    assert registry.page(10) == (registry.page(10)[0], None)
    with pytest.raises(InvalidInput):
        registry.page(2, "not-a-cursor!")


def test_delete_removes_the_files(tmp_path: Path) -> None:
    registry = make(tmp_path)
    info = registry.create(DatasetData(sequences=[[1.0, 2.0]]))
    registry.delete(info.id)
    assert not list((tmp_path / "datasets").iterdir())
    with pytest.raises(NotFound):
        registry.load(info.id)
    with pytest.raises(NotFound):
        registry.delete(info.id)


def test_store_is_bounded_by_max_datasets(tmp_path: Path) -> None:
    registry = make(tmp_path, max_datasets=2)
    registry.create(DatasetSpec(n_samples=1, length=1, seed=1))
    registry.create(DatasetSpec(n_samples=1, length=1, seed=2))
    registry.create(DatasetSpec(n_samples=1, length=1, seed=2))  # already stored: fine
    with pytest.raises(LimitExceeded) as caught:
        registry.create(DatasetSpec(n_samples=1, length=1, seed=3))
    assert caught.value.limit == "max_datasets"


def test_cache_is_bounded_by_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def counting_generate(n_samples: int, length: int | None = None, **kwargs: object):  # type: ignore[no-untyped-def]
        calls.append(n_samples)
        return generate(n_samples, length, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(registry_module, "generate", counting_generate)
    # Bytes: n x 10 bits (one byte each), n float64 targets and n int64 lengths: 26 n.
    registry = make(tmp_path, dataset_cache_bytes=600)
    a = DatasetRef(dataset=DatasetSpec(n_samples=10, length=10, seed=1))  # 260 bytes
    b = DatasetRef(dataset=DatasetSpec(n_samples=11, length=10, seed=1))  # 286 bytes
    c = DatasetRef(dataset=DatasetSpec(n_samples=12, length=10, seed=1))  # 312 bytes
    registry.resolve(a)
    registry.resolve(b)
    registry.resolve(a)  # cached
    assert calls == [10, 11]
    registry.resolve(c)  # evicts b, the least recently used
    registry.resolve(a)
    registry.resolve(b)
    assert calls == [10, 11, 12, 11]


def test_shape_comes_from_the_reference_alone(tmp_path: Path) -> None:
    registry = make(tmp_path)
    assert registry.shape(DatasetRef()) == (20, 10)
    spec = DatasetSpec(n_samples=1000, min_length=1, max_length=50)
    assert registry.shape(DatasetRef(dataset=spec)) == (1000, 50)
    data = DatasetData(sequences=[[1.0], [1.0, 2.0, 3.0]])
    assert registry.shape(DatasetRef(dataset=data)) == (2, 3)
    info = registry.create(spec)
    assert registry.shape(DatasetRef(dataset_id=info.id)) == (1000, info.max_length)
