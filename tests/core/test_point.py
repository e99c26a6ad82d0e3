"""core.point: one point from the statistics or the reference, always the reference's value."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.bptt import gradient
from core.datasets import Dataset, generate, tutorial_dataset
from core.fastpath import RTOL, cached, disabled, statistics
from core.model import loss
from core.point import point_gradient, point_loss
from tests.core._reference import TUTORIAL_VALUES

POINTS = [(1.0, 1.0), (-1.5, 2.0), (1.0, 0.5), (0.0, 3.0), (2.0, -1.0), (1e-3, 1.001), (1.0, 40.0)]


def agrees(value: float, reference: float) -> bool:
    if not math.isfinite(reference):
        return value == reference or (math.isnan(value) and math.isnan(reference))
    return abs(value - reference) <= RTOL * abs(reference) + 1e-300


@pytest.mark.parametrize(("point", "expected"), TUTORIAL_VALUES.items())
def test_the_tutorial_table(point: tuple[float, float], expected: tuple[float, ...]) -> None:
    found = point_gradient(tutorial_dataset(), *point)
    assert found.loss == pytest.approx(expected[0], rel=1e-12)
    assert (found.wx, found.wrec) == pytest.approx(expected[1:], rel=1e-12)
    assert point_loss(tutorial_dataset(), *point) == pytest.approx(expected[0], rel=1e-12)


@pytest.mark.parametrize("length", [5, 30, 200, 1100])
@pytest.mark.parametrize("point", POINTS)
def test_agrees_with_the_reference(length: int, point: tuple[float, float]) -> None:
    data = generate(60, length, seed=length)
    with np.errstate(all="ignore"):
        with disabled():
            reference, reference_loss = gradient(data, *point), loss(data, *point)
        found = point_gradient(data, *point)
        value = point_loss(data, *point)
    assert agrees(value, reference_loss)
    assert agrees(found.loss, reference.loss)
    assert agrees(found.wx, reference.wx)
    assert agrees(found.wrec, reference.wrec)


def test_statistics_computed_once_serve_every_later_point(monkeypatch: pytest.MonkeyPatch) -> None:
    # Long sequences: computing the statistics for one loss costs more than the forward
    # pass, so a lone point does not; once a surface or a run has paid for them, points use them.
    data = generate(200, 600, seed=1)
    with disabled():
        reference_loss, reference = loss(data, 1.0, 0.9), gradient(data, 1.0, 0.9)
    point_loss(data, 1.0, 0.9)
    assert cached(data) is None
    stats = statistics(data)
    assert cached(data) is stats

    def no_reference(*args: object, **kwargs: object) -> None:
        raise AssertionError("the reference path ran although the statistics were known")

    monkeypatch.setattr("core.point.loss", no_reference)
    monkeypatch.setattr("core.point.gradient", no_reference)
    assert agrees(point_loss(data, 1.0, 0.9), reference_loss)
    assert agrees(point_gradient(data, 1.0, 0.9).wrec, reference.wrec)


def test_a_tiny_dataset_takes_the_reference_even_with_statistics_known(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The tutorial's 20 x 10: a forward pass costs less than NumPy's fixed costs of one
    # evaluation of the statistics, so the reference answers (the tiny-call path).
    data = tutorial_dataset()
    assert statistics(data) is not None

    def no_statistics(*args: object, **kwargs: object) -> None:
        raise AssertionError("the statistics were evaluated for a tiny dataset")

    monkeypatch.setattr("core.point.evaluate", no_statistics)
    assert point_loss(data, 1.0, 2.0) == loss(data, 1.0, 2.0)
    assert point_gradient(data, 1.0, 2.0).wrec == gradient(data, 1.0, 2.0).wrec


def test_a_lone_point_does_not_pay_for_the_statistics() -> None:
    data: Dataset = generate(2000, 10, seed=2)
    point_gradient(data, 0.5, 0.5)
    point_loss(data, 0.5, 0.5)
    assert cached(data) is None


def test_disabled_fast_path_is_the_reference_to_the_bit() -> None:
    data = generate(100, 10, seed=3)
    with disabled():
        assert point_loss(data, 0.7, 1.2) == loss(data, 0.7, 1.2)
        g = gradient(data, 0.7, 1.2)
        found = point_gradient(data, 0.7, 1.2)
        assert (found.loss, found.wx, found.wrec) == (g.loss, g.wx, g.wrec)
        assert cached(data) is None
