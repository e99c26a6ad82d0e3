"""core.optimizers.hyperparameters: fields that carry default, range and description."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from core.errors import InvalidInputError
from core.optimizers.hyperparameters import (
    Hyperparameter,
    Limit,
    describe,
    hyperparameter,
    validate,
)


@dataclass(frozen=True)
class Example:
    rate: float = hyperparameter(0.5, "A rate.", gt=0, le=1)
    floor: float = hyperparameter(0.0, "A floor.", ge=0)
    cap: float = hyperparameter(1.0, "A cap.", lt=2)
    free: float = hyperparameter(-3.0, "Anything finite.")
    flag: bool = hyperparameter(False, "A switch.")
    limit: float | None = hyperparameter(None, "Optional.", gt=0)

    def __post_init__(self) -> None:
        validate(self)


def test_describe_reads_the_declarations_back_in_order() -> None:
    described = describe(Example)
    assert [h.name for h in described] == ["rate", "floor", "cap", "free", "flag", "limit"]
    assert described[0] == Hyperparameter(
        "rate", float, False, 0.5, "A rate.", Limit(0, False), Limit(1, True)
    )
    assert (described[4].type, described[4].default, described[4].nullable) == (bool, False, False)
    assert (described[5].type, described[5].default, described[5].nullable) == (float, None, True)
    assert describe(Example) is described  # read once per class


@pytest.mark.parametrize(
    ("index", "text"),
    [(0, "in (0, 1]"), (1, ">= 0"), (2, "< 2"), (3, None), (4, None), (5, "> 0")],
)
def test_range_text(index: int, text: str | None) -> None:
    assert describe(Example)[index].range_text() == text


def test_admits_respects_inclusive_and_exclusive_ends() -> None:
    rate = describe(Example)[0]
    assert not rate.admits(0.0)
    assert rate.admits(1e-300)
    assert rate.admits(1.0)
    assert not rate.admits(1.0000000000000002)
    cap = describe(Example)[2]
    assert cap.admits(-1e300)
    assert not cap.admits(2.0)


def test_valid_values_are_kept_and_numbers_become_floats() -> None:
    e = Example(rate=1, floor=0, flag=True, limit=3)
    assert (e.rate, e.floor, e.limit) == (1.0, 0.0, 3.0)
    assert all(isinstance(v, float) for v in (e.rate, e.floor, e.limit))
    assert Example(limit=None).limit is None


BAD: list[tuple[dict[str, Any], str, str]] = [
    ({"rate": 0.0}, "rate", "must be in (0, 1], got 0.0"),
    ({"rate": 1.5}, "rate", "must be in (0, 1], got 1.5"),
    ({"floor": -1e-300}, "floor", "must be >= 0, got -1e-300"),
    ({"cap": 2}, "cap", "must be < 2, got 2.0"),
    ({"free": float("inf")}, "free", "must be a finite number, got inf"),
    ({"free": float("nan")}, "free", "must be a finite number, got nan"),
    ({"free": "1"}, "free", "must be a finite number, got '1'"),
    ({"free": 10**400}, "free", "must be a finite number"),
    ({"flag": 1}, "flag", "must be true or false, got 1"),
    ({"rate": None}, "rate", "must be a finite number, got None"),
    ({"limit": 0.0}, "limit", "must be > 0, got 0.0"),
]


@pytest.mark.parametrize(("given", "name", "message"), BAD)
def test_errors_name_the_field_and_quote_the_value(
    given: dict[str, Any], name: str, message: str
) -> None:
    with pytest.raises(InvalidInputError) as info:
        Example(**given)
    assert info.value.field == f"optimizer.{name}"
    assert info.value.message.startswith(message)


def test_types_are_checked_before_ranges() -> None:
    # Two bad fields: the badly typed one is reported, though it comes later.
    with pytest.raises(InvalidInputError) as info:
        Example(rate=5.0, flag="yes")  # type: ignore[arg-type]
    assert info.value.field == "optimizer.flag"


def test_a_hyperparameter_needs_a_default() -> None:
    @dataclass(frozen=True)
    class NoDefault:
        rate: float

    with pytest.raises(KeyError):
        describe(NoDefault)  # not declared with hyperparameter(): no metadata
