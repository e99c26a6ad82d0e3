"""core.datasets: the tutorial's data bit for bit, generation specs, given rows, errors."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import core.datasets
from core.datasets import GENERATORS, Dataset, from_sequences, generate, tutorial_dataset
from core.errors import InvalidInputError, RnnlabError
from tests.core._reference import TUTORIAL_TARGETS, datasets, default_targets, tutorial_rows

# --- the tutorial dataset ---------------------------------------------------------------


def test_legacy_seed_1_is_the_tutorial_dataset_bit_for_bit() -> None:
    ds = generate(20, 10, seed=1, generator="legacy")
    expected = np.asarray(tutorial_rows())
    assert ds.inputs.shape == (20, 10)
    np.testing.assert_array_equal(ds.inputs, expected)
    assert ds.targets.tolist() == [float(t) for t in TUTORIAL_TARGETS]
    assert int(ds.inputs.sum()) == 103
    np.testing.assert_array_equal(ds.lengths, np.full(20, 10))


def test_tutorial_dataset_is_the_legacy_seed_1_spec() -> None:
    ds, ref = tutorial_dataset(), generate(20, 10, seed=1, generator="legacy")
    np.testing.assert_array_equal(ds.inputs, ref.inputs)
    np.testing.assert_array_equal(ds.targets, ref.targets)


@pytest.mark.parametrize("generator", GENERATORS)
def test_generation_leaves_the_global_numpy_state_untouched(generator: str) -> None:
    saved = np.random.get_state()
    try:
        np.random.seed(12345)
        generate(50, 7, seed=1, generator=generator)
        generate(50, min_length=2, max_length=9, seed=3, generator=generator)
        after = np.random.random_sample(8)  # the stream goes on as if nothing had happened
    finally:
        np.random.set_state(saved)
    np.testing.assert_array_equal(after, np.random.RandomState(12345).random_sample(8))


# --- storage and determinism ------------------------------------------------------------


@pytest.mark.parametrize("generator", GENERATORS)
def test_generated_inputs_are_bytes_and_targets_are_counts(generator: str) -> None:
    ds = generate(64, 12, seed=7, generator=generator)
    assert ds.inputs.dtype == np.uint8
    assert ds.is_binary
    assert ds.inputs.nbytes == 64 * 12
    assert set(np.unique(ds.inputs).tolist()) <= {0, 1}
    assert ds.targets.dtype == np.float64
    np.testing.assert_array_equal(ds.targets, ds.inputs.sum(axis=1))
    assert (ds.n_samples, ds.width, ds.min_length, ds.max_length) == (64, 12, 12, 12)


@pytest.mark.parametrize("generator", GENERATORS)
def test_same_spec_same_dataset_other_seed_other_dataset(generator: str) -> None:
    a = generate(30, 16, seed=42, generator=generator)
    b = generate(30, 16, seed=42, generator=generator)
    c = generate(30, 16, seed=43, generator=generator)
    np.testing.assert_array_equal(a.inputs, b.inputs)
    np.testing.assert_array_equal(a.targets, b.targets)
    assert not np.array_equal(a.inputs, c.inputs)


def test_generators_follow_their_documented_formulas() -> None:
    # pcg64: x = u < p_one from default_rng(seed); legacy: x = u > 1 - p_one from RandomState.
    u = np.random.default_rng(9).random((40, 6))
    np.testing.assert_array_equal(generate(40, 6, seed=9, p_one=0.3).inputs, u < 0.3)
    v = np.random.RandomState(9).random_sample((40, 6))
    legacy = generate(40, 6, seed=9, p_one=0.3, generator="legacy")
    np.testing.assert_array_equal(legacy.inputs, v > 0.7)


@pytest.mark.parametrize("generator", GENERATORS)
def test_rows_are_drawn_in_order_across_chunks(generator: str) -> None:
    # Several internal chunks: a prefix spec is a prefix of a bigger spec.
    n = 2 * core.datasets._CHUNK_ROWS + 123
    small = generate(n, 10, seed=5, generator=generator)
    big = generate(n + 5000, 10, seed=5, generator=generator)
    np.testing.assert_array_equal(small.inputs, big.inputs[:n])
    np.testing.assert_array_equal(small.targets, big.targets[:n])


@pytest.mark.parametrize("generator", GENERATORS)
def test_variable_lengths_do_not_depend_on_the_chunk_size(
    generator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec: dict[str, Any] = {"min_length": 1, "max_length": 13, "seed": 11, "generator": generator}
    whole = generate(500, **spec)
    monkeypatch.setattr(core.datasets, "_CHUNK_ROWS", 7)
    chunked = generate(500, **spec)
    np.testing.assert_array_equal(whole.inputs, chunked.inputs)
    np.testing.assert_array_equal(whole.lengths, chunked.lengths)
    np.testing.assert_array_equal(whole.targets, chunked.targets)


# --- variable lengths ---------------------------------------------------------------------


@pytest.mark.parametrize("generator", GENERATORS)
def test_variable_lengths_are_left_padded_within_bounds(generator: str) -> None:
    ds = generate(300, min_length=3, max_length=9, seed=5, generator=generator)
    assert ds.lengths.dtype == np.int64
    assert ds.lengths.min() >= 3
    assert ds.lengths.max() <= 9
    assert {3, 9} <= set(ds.lengths.tolist())  # both bounds are reachable
    assert ds.width == ds.max_length == int(ds.lengths.max())
    assert ds.min_length == int(ds.lengths.min())
    for row, length in zip(ds.inputs, ds.lengths.tolist(), strict=True):
        assert not row[: ds.width - length].any()
    np.testing.assert_array_equal(ds.targets, ds.inputs.sum(axis=1))
    # Steps inside each sequence are really drawn: not all zero overall.
    assert ds.inputs.sum() > 0.3 * ds.lengths.sum()


@pytest.mark.parametrize("generator", GENERATORS)
def test_sequences_round_trip_through_from_sequences(generator: str) -> None:
    ds = generate(100, min_length=1, max_length=8, seed=2, generator=generator)
    seqs = ds.sequences()
    assert [len(s) for s in seqs] == ds.lengths.tolist()
    again = from_sequences(seqs)
    assert again.inputs.dtype == np.uint8
    np.testing.assert_array_equal(again.inputs, ds.inputs)
    np.testing.assert_array_equal(again.lengths, ds.lengths)
    np.testing.assert_array_equal(again.targets, ds.targets)


def test_equal_min_and_max_length_is_a_fixed_length() -> None:
    ds = generate(10, min_length=4, max_length=4, seed=0)
    assert ds.lengths.tolist() == [4] * 10
    assert ds.width == 4


@pytest.mark.parametrize("generator", GENERATORS)
@pytest.mark.parametrize("p_one", [0.1, 0.5, 0.8])
def test_p_one_is_the_frequency_of_ones(generator: str, p_one: float) -> None:
    ds = generate(20_000, 10, seed=3, p_one=p_one, generator=generator)
    draws = ds.inputs.size
    sigma = math.sqrt(p_one * (1 - p_one) / draws)
    assert abs(float(ds.inputs.mean()) - p_one) < 6 * sigma


# --- given rows ---------------------------------------------------------------------------


def test_from_sequences_pads_ragged_rows_on_the_left() -> None:
    ds = from_sequences([[1, 0, 1], [1], [0, 1, 1, 1, 0]])
    assert ds.inputs.dtype == np.uint8
    assert ds.is_binary
    np.testing.assert_array_equal(ds.inputs, [[0, 0, 1, 0, 1], [0, 0, 0, 0, 1], [0, 1, 1, 1, 0]])
    assert ds.lengths.tolist() == [3, 1, 5]
    assert ds.targets.tolist() == [2.0, 1.0, 3.0]
    assert ds.sequences() == [[1, 0, 1], [1], [0, 1, 1, 1, 0]]


def test_from_sequences_keeps_real_values_as_float64() -> None:
    ds = from_sequences([[0.5, 1.0], [2.0, -1.0, 0.0]])
    assert ds.inputs.dtype == np.float64
    assert not ds.is_binary
    np.testing.assert_array_equal(ds.inputs, [[0.0, 0.5, 1.0], [2.0, -1.0, 0.0]])
    assert ds.targets.tolist() == [1.5, 1.0]
    assert ds.sequences() == [[0.5, 1.0], [2.0, -1.0, 0.0]]


def test_from_sequences_uses_given_targets() -> None:
    ds = from_sequences([[1, 1], [0, 1, 0]], targets=[7, -2.5])
    assert ds.is_binary
    assert ds.targets.dtype == np.float64
    assert ds.targets.tolist() == [7.0, -2.5]


def test_from_sequences_detects_binary_only_when_every_value_is_0_or_1() -> None:
    assert from_sequences([[0.0, 1.0], [1.0]]).is_binary
    assert not from_sequences([[0.0, 1.0], [2.0]]).is_binary
    assert not from_sequences([[0.0, 1.0], [1.0 + 2**-52]]).is_binary


@settings(max_examples=60, deadline=None)
@given(datasets(max_n=6, max_width=9))
def test_from_sequences_round_trips_any_rows(data: tuple[list[list[float]], Any]) -> None:
    rows, targets = data
    ds = from_sequences(rows, targets)
    assert ds.sequences() == rows
    assert ds.lengths.tolist() == [len(r) for r in rows]
    assert ds.width == max(len(r) for r in rows)
    # Default targets are row sums: up to rounding, which may depend on the padding.
    expected = default_targets(rows, targets)
    magnitude = [sum(abs(v) for v in r) for r in rows]
    np.testing.assert_allclose(ds.targets, expected, rtol=0, atol=1e-15 * max(magnitude))
    if targets is not None:
        assert ds.targets.tolist() == targets
    assert ds.is_binary == all(v in (0.0, 1.0) for r in rows for v in r)


# --- errors name their field ------------------------------------------------------------

GENERATE_ERRORS: list[tuple[dict[str, Any], str]] = [
    ({"n_samples": 0, "length": 10}, "n_samples"),
    ({"n_samples": -3, "length": 10}, "n_samples"),
    ({"n_samples": 5, "length": 0}, "length"),
    ({"n_samples": 5}, "length"),
    ({"n_samples": 5, "min_length": 2}, "length"),
    ({"n_samples": 5, "length": 4, "min_length": 2, "max_length": 3}, "length"),
    ({"n_samples": 5, "min_length": 0, "max_length": 3}, "min_length"),
    ({"n_samples": 5, "min_length": 4, "max_length": 3}, "max_length"),
    ({"n_samples": 5, "length": 3, "seed": -1}, "seed"),
    ({"n_samples": 5, "length": 3, "seed": 2**32, "generator": "legacy"}, "seed"),
    ({"n_samples": 5, "length": 3, "p_one": 0.0}, "p_one"),
    ({"n_samples": 5, "length": 3, "p_one": 1.0}, "p_one"),
    ({"n_samples": 5, "length": 3, "p_one": 1.5}, "p_one"),
    ({"n_samples": 5, "length": 3, "p_one": float("nan")}, "p_one"),
    ({"n_samples": 5, "length": 3, "generator": "mt19937"}, "generator"),
]


@pytest.mark.parametrize(("kwargs", "field"), GENERATE_ERRORS)
def test_generate_rejects_bad_specs_naming_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        generate(**kwargs)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")


def test_large_pcg64_seeds_are_fine() -> None:
    assert generate(3, 4, seed=2**40).n_samples == 3


FROM_SEQUENCES_ERRORS: list[tuple[list[list[float]], list[float] | None, str]] = [
    ([], None, "sequences"),
    ([[1.0], []], None, "sequences[1]"),
    ([[], [1.0]], None, "sequences[0]"),
    ([[0.0, 1.0, 1.0, 1.0], [1.0, float("nan")]], None, "sequences[1][1]"),
    ([[float("inf"), 0.0, 0.0]], None, "sequences[0][0]"),
    ([[0.5, 0.5, 0.5], [0.5, 0.5, -float("inf")]], None, "sequences[1][2]"),
    ([[1.0], [0.0]], [1.0], "targets"),
    ([[1.0], [0.0]], [1.0, 2.0, 3.0], "targets"),
    ([[1.0], [0.0]], [1.0, float("nan")], "targets[1]"),
    ([[1.0], [0.0], [1.0]], [1.0, 0.0, float("-inf")], "targets[2]"),
]


@pytest.mark.parametrize(("rows", "targets", "field"), FROM_SEQUENCES_ERRORS)
def test_from_sequences_rejects_bad_rows_naming_the_field(
    rows: list[list[float]], targets: list[float] | None, field: str
) -> None:
    with pytest.raises(InvalidInputError) as info:
        from_sequences(rows, targets)
    assert info.value.field == field


def test_invalid_input_is_a_value_error_of_the_rnnlab_hierarchy() -> None:
    with pytest.raises(ValueError, match=r"^n_samples: ") as info:
        generate(0, 1)
    error = info.value
    assert isinstance(error, RnnlabError)
    assert isinstance(error, InvalidInputError)
    assert error.message


@given(st.integers(1, 30), st.integers(1, 12), st.integers(0, 2**31))
@settings(max_examples=25, deadline=None)
def test_any_fixed_length_spec_gives_a_consistent_dataset(n: int, length: int, seed: int) -> None:
    ds: Dataset = generate(n, length, seed=seed, generator="legacy")
    assert ds.inputs.shape == (n, length)
    assert ds.lengths.tolist() == [length] * n
    np.testing.assert_array_equal(ds.targets, ds.inputs.sum(axis=1))
