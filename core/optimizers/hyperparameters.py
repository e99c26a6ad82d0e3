"""Hyperparameters as data: a dataclass field carries its default, range and description.

An optimiser declares its hyperparameters once, as a frozen dataclass whose fields are
made by ``hyperparameter``; ``describe`` reads them back (what a schema or a docs page
needs) and ``validate`` checks an instance against them, so the declared range is the
range enforced. Errors name the field as a client spells it: ``optimizer.<name>``.
"""

from __future__ import annotations

import math
import types
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, get_type_hints

from core.errors import InvalidInputError

__all__ = ["Hyperparameter", "Limit", "describe", "hyperparameter", "invalid", "validate"]

_METADATA_KEY = "rnnlab.hyperparameter"


@dataclass(frozen=True)
class Limit:
    """One end of a hyperparameter's range: the value, and whether the value itself is allowed."""

    value: float
    inclusive: bool


@dataclass(frozen=True)
class Hyperparameter:
    """Everything about one hyperparameter that a schema or a docs page needs.

    ``type`` is float or bool; ``nullable`` says None is a value of its own (clip_norm:
    no clipping). ``lower`` and ``upper`` are None where the range is open on that side;
    rules between fields (delta_max >= delta_min) are checked by the optimiser itself.
    """

    name: str
    type: type
    nullable: bool
    default: float | bool | None
    description: str
    lower: Limit | None
    upper: Limit | None

    def range_text(self) -> str | None:
        """The range as the error messages state it: "> 1", "in [0, 1)"; None if unbounded."""
        lower, upper = self.lower, self.upper
        if lower is not None and upper is not None:
            left = "[" if lower.inclusive else "("
            right = "]" if upper.inclusive else ")"
            return f"in {left}{lower.value:g}, {upper.value:g}{right}"
        if lower is not None:
            return f"{'>=' if lower.inclusive else '>'} {lower.value:g}"
        if upper is not None:
            return f"{'<=' if upper.inclusive else '<'} {upper.value:g}"
        return None

    def admits(self, value: float) -> bool:
        """Whether a finite value lies in the range."""
        lower, upper = self.lower, self.upper
        if lower is not None and not (
            value >= lower.value if lower.inclusive else value > lower.value
        ):
            return False
        return upper is None or (value <= upper.value if upper.inclusive else value < upper.value)


def hyperparameter(
    default: float | bool | None,
    description: str,
    *,
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
) -> Any:
    """A dataclass field with its default, its description and its range (gt/ge, lt/le)."""
    lower = Limit(gt, False) if gt is not None else Limit(ge, True) if ge is not None else None
    upper = Limit(lt, False) if lt is not None else Limit(le, True) if le is not None else None
    return field(default=default, metadata={_METADATA_KEY: (description, lower, upper)})


_described: dict[type, tuple[Hyperparameter, ...]] = {}


def describe(params_type: type) -> tuple[Hyperparameter, ...]:
    """The hyperparameters a dataclass declares, in field order (read once per class)."""
    described = _described.get(params_type)
    if described is None:
        described = _described[params_type] = tuple(_read_fields(params_type))
    return described


def _read_fields(params_type: type) -> list[Hyperparameter]:
    hints = get_type_hints(params_type)
    described = []
    for f in fields(params_type):
        description, lower, upper = f.metadata[_METADATA_KEY]
        hint = hints[f.name]
        nullable = isinstance(hint, types.UnionType) and type(None) in hint.__args__
        base = next(t for t in hint.__args__ if t is not type(None)) if nullable else hint
        default = f.default
        if default is MISSING:
            raise TypeError(f"hyperparameter {f.name} of {params_type.__name__} has no default")
        described.append(Hyperparameter(f.name, base, nullable, default, description, lower, upper))
    return described


def invalid(name: str, message: str, value: object) -> InvalidInputError:
    """The error for hyperparameter ``name``, quoting the value it was given."""
    return InvalidInputError(f"optimizer.{name}", f"{message}, got {value!r}")


def validate(params: Any) -> None:
    """Check every field of a hyperparameter dataclass instance; store numbers as floats.

    First each value's type (bool for bool fields, a finite number otherwise, None where
    nullable), then each range. Call it from the dataclass's ``__post_init__``.
    """
    described = describe(type(params))
    for spec in described:
        value = getattr(params, spec.name)
        if value is None and spec.nullable:
            continue
        if spec.type is bool:
            if not isinstance(value, bool):
                raise invalid(spec.name, "must be true or false", value)
            continue
        number = _finite_float(value)
        if number is None:
            raise invalid(spec.name, "must be a finite number", value)
        object.__setattr__(params, spec.name, number)
    for spec in described:
        value = getattr(params, spec.name)
        if isinstance(value, float) and not spec.admits(value):
            raise invalid(spec.name, f"must be {spec.range_text()}", value)


def _finite_float(value: object) -> float | None:
    """value as a float if it is a finite int or float, else None."""
    if not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int beyond float64
        return None
    return number if math.isfinite(number) else None
