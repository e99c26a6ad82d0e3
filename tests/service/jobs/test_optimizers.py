"""The optimizers of the API come from core's registry: an entry added there appears here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import ValidationError

from core.optimizers import OPTIMIZERS, OptimizerEntry
from core.optimizers.hyperparameters import hyperparameter
from service.jobs.optimizers import (
    OptimizerSpec,
    enum_varname,
    markdown_table,
    optimizer_infos,
    optimizer_spec_model,
)


@dataclass(frozen=True)
class _AdamParams:
    learning_rate: float = hyperparameter(0.01, "Step size.", gt=0)
    beta: float = hyperparameter(0.9, "Decay.", ge=0, lt=1)


def _adam_step(state: Any, weights: Any, grad: Any, **params: Any) -> Any:
    return state


def test_a_new_registry_entry_is_in_the_schema_with_its_defaults_and_bounds() -> None:
    adam = OptimizerEntry("adam", "A test entry.", _AdamParams, _adam_step, sign_based=False)
    model = optimizer_spec_model({**OPTIMIZERS, "adam": adam})
    schema = model.model_json_schema()
    assert "adam" in schema["properties"]["name"]["enum"]
    assert schema["properties"]["name"]["x-enum-varnames"][-1] == "ADAM"
    beta = schema["properties"]["beta"]["anyOf"][0]
    assert (beta["minimum"], beta["exclusiveMaximum"]) == (0, 1)
    assert "`adam`" in schema["properties"]["beta"]["description"]
    assert "default 0.9" in schema["properties"]["beta"]["description"]
    assert model.model_validate({"name": "adam", "beta": 0.5}).hyperparameters() == {"beta": 0.5}
    with pytest.raises(ValidationError):
        model.model_validate({"name": "adam", "beta": 1.0})
    assert [info.name for info in optimizer_infos({"adam": adam})] == ["adam"]
    assert "`adam`" in markdown_table({"adam": adam})


def test_the_served_schema_lists_every_optimizer_of_core() -> None:
    schema = OptimizerSpec.model_json_schema()
    assert schema["properties"]["name"]["enum"] == list(OPTIMIZERS)
    assert schema["properties"]["name"]["default"] == "rprop"
    takes = {h.name for entry in OPTIMIZERS.values() for h in entry.hyperparameters}
    assert takes <= set(schema["properties"])


@pytest.mark.parametrize(
    ("name", "varname"),
    [("rprop", "RPROP"), ("rprop-", "RPROP_MINUS"), ("irprop+", "IRPROP_PLUS"), ("sgd", "SGD")],
)
def test_enum_members_get_distinct_identifiers(name: str, varname: str) -> None:
    assert enum_varname(name) == varname
    assert len({enum_varname(n) for n in OPTIMIZERS}) == len(OPTIMIZERS)
