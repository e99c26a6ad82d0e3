"""The optimizers the API offers, derived from core's registry: the schema, the docs table.

Nothing about an optimizer is written down here: its name, summary, hyperparameters,
defaults and ranges come from ``core.optimizers.OPTIMIZERS``, so an optimizer added to
core appears in ``POST /train``'s schema, in ``GET /optimizers`` and in the README's
table (``python -m service.jobs.optimizers`` prints it) without another edit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, JsonValue, create_model

from core.optimizers import OPTIMIZERS, Hyperparameter, OptimizerEntry
from service.web.models import FiniteFloat, RequestModel, ResponseModel

__all__ = [
    "OptimizerInfo",
    "OptimizerSpec",
    "markdown_table",
    "optimizer_infos",
    "optimizer_spec_model",
]

DEFAULT = "rprop"  # the tutorial's


class OptimizerSpecBase(RequestModel):
    """An optimizer and its hyperparameters; those left out take the optimizer's defaults."""

    name: str  # narrowed to the registry's names by ``optimizer_spec_model``

    def hyperparameters(self) -> dict[str, Any]:
        """The hyperparameters the client gave, as keyword arguments for core."""
        return {
            key: value
            for key, value in self.model_dump(exclude={"name"}).items()
            if value is not None
        }


def enum_varname(name: str) -> str:
    """An identifier for a generated client's enum member: ``rprop+`` -> ``RPROP_PLUS``."""
    return name.upper().replace("-", "_MINUS").replace("+", "_PLUS")


def _takers(registry: Mapping[str, OptimizerEntry]) -> dict[str, list[tuple[str, Hyperparameter]]]:
    """Each hyperparameter name -> the optimizers taking it, with their description of it."""
    takers: dict[str, list[tuple[str, Hyperparameter]]] = {}
    for entry in registry.values():
        for h in entry.hyperparameters:
            takers.setdefault(h.name, []).append((entry.name, h))
    return takers


def _describe(takers: list[tuple[str, Hyperparameter]], all_names: list[str]) -> str:
    h = takers[0][1]
    names = [name for name, _ in takers]
    scope = "all optimizers" if names == all_names else ", ".join(f"`{n}`" for n in names)
    defaults = {repr(x.default) for _, x in takers}
    default = (
        f"default {_shown(h.default)}"
        if len(defaults) == 1
        else "default " + ", ".join(f"{_shown(x.default)} for `{n}`" for n, x in takers)
    )
    bounds = f"; {h.range_text()}" if h.range_text() else ""
    return f"{h.description} For {scope}; {default}{bounds}."


def _shown(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    return f"{value:g}" if isinstance(value, float) else str(value)


def _field(h: Hyperparameter, description: str) -> tuple[Any, Any]:
    lower, upper = h.lower, h.upper
    bounds = Field(
        gt=lower.value if lower and not lower.inclusive else None,
        ge=lower.value if lower and lower.inclusive else None,
        lt=upper.value if upper and not upper.inclusive else None,
        le=upper.value if upper and upper.inclusive else None,
    )
    kind: Any = bool if h.type is bool else Annotated[FiniteFloat, bounds]
    return (kind | None, Field(default=None, description=description))


def optimizer_spec_model(registry: Mapping[str, OptimizerEntry]) -> type[OptimizerSpecBase]:
    """The ``optimizer`` object of ``POST /train`` for the optimizers of ``registry``."""
    names = list(registry)
    summary = " ".join(f"`{name}`: {entry.summary}" for name, entry in registry.items())
    fields: dict[str, Any] = {
        "name": (
            Literal[tuple(names)],
            Field(
                default=DEFAULT if DEFAULT in registry else names[0],
                description=f"Which optimizer. {summary}",
                json_schema_extra={"x-enum-varnames": [enum_varname(n) for n in names]},
            ),
        )
    }
    for name, takers in _takers(registry).items():
        fields[name] = _field(takers[0][1], _describe(takers, names))
    model = create_model("OptimizerSpec", __base__=OptimizerSpecBase, **fields)
    examples: list[JsonValue] = [{"name": name} for name in names[:3]]
    model.model_config = {**model.model_config, "json_schema_extra": {"examples": examples}}
    model.model_rebuild(force=True)
    return model


if TYPE_CHECKING:  # a class made at run time: to the type checker, its base
    OptimizerSpec = OptimizerSpecBase
else:
    OptimizerSpec = optimizer_spec_model(OPTIMIZERS)


class HyperparameterInfo(ResponseModel):
    """One hyperparameter of an optimizer."""

    name: str
    type: Literal["number", "boolean"]
    default: float | bool | None = Field(description="Its value when left out (null: none).")
    minimum: float | None = Field(description="Lower end of its range (null: unbounded).")
    minimum_inclusive: bool = Field(description="Whether the minimum itself is allowed.")
    maximum: float | None = Field(description="Upper end of its range (null: unbounded).")
    maximum_inclusive: bool = Field(description="Whether the maximum itself is allowed.")
    description: str


class OptimizerInfo(ResponseModel):
    """An optimizer ``POST /train`` takes, with its hyperparameters and their defaults."""

    name: str
    summary: str
    sign_based: bool = Field(description="Whether it looks only at the gradient's sign.")
    hyperparameters: list[HyperparameterInfo]


def optimizer_infos(registry: Mapping[str, OptimizerEntry] = OPTIMIZERS) -> list[OptimizerInfo]:
    """Every optimizer of ``registry``, as ``GET /optimizers`` answers."""
    return [
        OptimizerInfo(
            name=entry.name,
            summary=entry.summary,
            sign_based=entry.sign_based,
            hyperparameters=[
                HyperparameterInfo(
                    name=h.name,
                    type="boolean" if h.type is bool else "number",
                    default=h.default,
                    minimum=h.lower.value if h.lower else None,
                    minimum_inclusive=bool(h.lower and h.lower.inclusive),
                    maximum=h.upper.value if h.upper else None,
                    maximum_inclusive=bool(h.upper and h.upper.inclusive),
                    description=h.description,
                )
                for h in entry.hyperparameters
            ],
        )
        for entry in registry.values()
    ]


def markdown_table(registry: Mapping[str, OptimizerEntry] = OPTIMIZERS) -> str:
    """The README's table of optimizers and their defaults."""
    rows = ["| optimizer | what it is | hyperparameters (default; range) |", "|---|---|---|"]
    for entry in registry.values():
        params = ", ".join(
            f"`{h.name}` ({'; '.join(filter(None, (_shown(h.default), h.range_text())))})"
            for h in entry.hyperparameters
        )
        rows.append(f"| `{entry.name}` | {entry.summary} | {params} |")
    return "\n".join(rows)
