"""Domain errors: locations parsed from core's field names, limits named with their setting."""

from __future__ import annotations

import pytest

from service.errors import InvalidInput, LimitExceeded, QueueFull, field_to_loc


@pytest.mark.parametrize(
    ("field", "loc"),
    [
        ("n_samples", ("n_samples",)),
        ("optimizer.eta_plus", ("optimizer", "eta_plus")),
        ("sequences[3][1]", ("sequences", 3, 1)),
        ("starts[2].wx", ("starts", 2, "wx")),
    ],
)
def test_field_to_loc(field: str, loc: tuple[str | int, ...]) -> None:
    assert field_to_loc(field) == loc


def test_limit_exceeded_names_the_limit_its_value_and_setting() -> None:
    error = LimitExceeded("max_samples", 1000, 5000, "n_samples", ("body", "n_samples"))
    assert error.status == 413
    assert (
        str(error)
        == "n_samples is 5000, over the limit max_samples=1000 (setting RNNLAB_MAX_SAMPLES)"
    )
    assert error.extensions() == {
        "limit": {"name": "max_samples", "value": 1000},
        "errors": [{"loc": ["body", "n_samples"], "msg": str(error)}],
    }


def test_invalid_input_carries_one_error() -> None:
    error = InvalidInput(("query", "points", 2), "expected wx:wrec")
    assert error.status == 422
    assert error.extensions() == {
        "errors": [{"loc": ["query", "points", 2], "msg": "expected wx:wrec"}]
    }


def test_queue_full_says_when_to_retry() -> None:
    assert QueueFull("busy", retry_after=4).headers == {"Retry-After": "4"}
