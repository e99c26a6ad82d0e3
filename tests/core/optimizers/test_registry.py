"""core.optimizers.registry: every optimiser by name, its defaults, and validation on entry."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from core.errors import InvalidInputError
from core.optimizers import OPTIMIZER_NAMES, OPTIMIZERS, make_optimizer

RPROP_DEFAULTS = {"eta_plus": 1.2, "eta_minus": 0.5, "delta0": 0.001}
FAMILY_DEFAULTS = {**RPROP_DEFAULTS, "delta_min": 1e-6, "delta_max": 50.0}
SGD_DEFAULTS = {"learning_rate": 0.001, "momentum": 0.0, "nesterov": False, "clip_norm": None}


def test_names_in_order() -> None:
    assert OPTIMIZER_NAMES == ("rprop", "rprop-", "rprop+", "irprop-", "irprop+", "sgd")
    assert tuple(OPTIMIZERS) == OPTIMIZER_NAMES
    assert all(OPTIMIZERS[name].name == name for name in OPTIMIZER_NAMES)


def test_defaults() -> None:
    assert dict(make_optimizer("rprop").hyperparameters) == RPROP_DEFAULTS
    for name in ("rprop-", "rprop+", "irprop-", "irprop+"):
        assert dict(make_optimizer(name).hyperparameters) == FAMILY_DEFAULTS
    assert dict(make_optimizer("sgd").hyperparameters) == SGD_DEFAULTS


def test_described_defaults_are_the_bound_defaults() -> None:
    for name, entry in OPTIMIZERS.items():
        described = {h.name: h.default for h in entry.hyperparameters}
        assert described == dict(make_optimizer(name).hyperparameters)


def test_every_entry_describes_itself_for_a_schema() -> None:
    for entry in OPTIMIZERS.values():
        assert entry.summary
        assert "\n" not in entry.summary
        assert entry.step.__doc__
        for h in entry.hyperparameters:
            assert h.description
            assert h.type in (float, bool)
            if h.type is bool:
                assert h.lower is None
                assert h.upper is None


def test_only_sgd_uses_the_gradients_size() -> None:
    assert [n for n, e in OPTIMIZERS.items() if not e.sign_based] == ["sgd"]
    assert [n for n, e in OPTIMIZERS.items() if e.needs_loss] == ["irprop+"]


def test_ranges_as_declared() -> None:
    ranges = {
        (name, h.name): h.range_text() for name, e in OPTIMIZERS.items() for h in e.hyperparameters
    }
    assert ranges[("rprop", "eta_plus")] == "> 1"
    assert ranges[("rprop", "eta_minus")] == "in (0, 1)"
    assert ranges[("irprop-", "delta0")] == "> 0"
    assert ranges[("irprop-", "delta_min")] == "> 0"
    assert ranges[("irprop-", "delta_max")] is None  # checked against delta_min instead
    assert ranges[("sgd", "learning_rate")] == "> 0"
    assert ranges[("sgd", "momentum")] == "in [0, 1)"
    assert ranges[("sgd", "clip_norm")] == "> 0"


def test_given_hyperparameters_override_and_none_means_default() -> None:
    opt = make_optimizer("irprop-", delta0=0.01, eta_plus=1.5, delta_max=None)
    assert opt.hyperparameters["delta0"] == 0.01
    assert opt.hyperparameters["eta_plus"] == 1.5
    assert opt.hyperparameters["delta_max"] == 50.0
    w = np.zeros((3, 2))
    state = opt.step(None, w, np.ones((3, 2)))
    np.testing.assert_array_equal(state.step_size, np.full((3, 2), 0.01))
    assert make_optimizer("sgd", momentum=None).hyperparameters["momentum"] == 0.0
    assert make_optimizer("sgd", clip_norm=None).hyperparameters["clip_norm"] is None


BAD: list[tuple[str, dict[str, Any], str]] = [
    ("adam", {}, "optimizer.name"),
    ("RPROP", {}, "optimizer.name"),
    ("rprop", {"eta_plus": 1.0}, "optimizer.eta_plus"),
    ("rprop-", {"eta_plus": float("inf")}, "optimizer.eta_plus"),
    ("rprop", {"eta_minus": 1.0}, "optimizer.eta_minus"),
    ("irprop+", {"eta_minus": 0.0}, "optimizer.eta_minus"),
    ("rprop", {"delta0": 0.0}, "optimizer.delta0"),
    ("irprop-", {"delta0": float("nan")}, "optimizer.delta0"),
    ("irprop-", {"delta_min": 0.0}, "optimizer.delta_min"),
    ("rprop+", {"delta_min": 1.0, "delta_max": 0.5}, "optimizer.delta_max"),
    ("rprop", {"delta_min": 1e-6}, "optimizer.delta_min"),  # not a hyperparameter of rprop
    ("rprop", {"learning_rate": 0.1}, "optimizer.learning_rate"),
    ("sgd", {"eta_plus": 1.2}, "optimizer.eta_plus"),
    ("sgd", {"lr": 0.1}, "optimizer.lr"),
    ("sgd", {"learning_rate": 0.0}, "optimizer.learning_rate"),
    ("sgd", {"learning_rate": -1e-3}, "optimizer.learning_rate"),
    ("sgd", {"learning_rate": "0.1"}, "optimizer.learning_rate"),
    ("sgd", {"momentum": 1.0}, "optimizer.momentum"),
    ("sgd", {"momentum": -0.1}, "optimizer.momentum"),
    ("sgd", {"nesterov": True}, "optimizer.nesterov"),  # needs momentum
    ("sgd", {"nesterov": "yes", "momentum": 0.9}, "optimizer.nesterov"),
    ("sgd", {"clip_norm": 0.0}, "optimizer.clip_norm"),
    ("sgd", {"clip_norm": float("inf")}, "optimizer.clip_norm"),
]


@pytest.mark.parametrize(("name", "params", "field"), BAD)
def test_errors_name_the_field(name: str, params: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        make_optimizer(name, **params)
    assert info.value.field == field


def test_error_messages_say_what_is_wrong() -> None:
    def message(name: str, **params: Any) -> str:
        with pytest.raises(InvalidInputError) as info:
            make_optimizer(name, **params)
        return info.value.message

    assert message("adam") == (
        "must be one of rprop, rprop-, rprop+, irprop-, irprop+, sgd; got 'adam'"
    )
    assert message("rprop", delta_min=1.0) == (
        "is not a hyperparameter of 'rprop' (it takes eta_plus, eta_minus, delta0)"
    )
    assert message("rprop", eta_plus=1.0) == "must be > 1, got 1.0"
    assert message("sgd", momentum=1.0) == "must be in [0, 1), got 1.0"
    assert message("irprop-", delta0=math.inf) == "must be a finite number, got inf"
    assert message("rprop+", delta_min=1.0, delta_max=0.5) == "must be >= delta_min (1.0), got 0.5"
