"""The base of every request model: strict types, unknown fields refused, finite floats.

Request models are strict (``false`` is not an int, ``"1"`` is not a number) and forbid
unknown fields, so typos fail loudly; floats must be finite (NaN, Infinity and numbers
that overflow a double are 422).

Response models (``ResponseModel``) declare every field the service always sends as
required in their schema, null or not, so that a generated client reads ``job.result``
rather than guessing whether it is there; the few fields sent only when asked for are
named in ``sometimes``.

Rules across fields (``dataset_id`` or ``dataset``, not both) are checked by the models'
validators and also stated in their JSON schema (``schema_rules``), so that generated
clients and schema-driven tests know them. They are written with ``allOf`` and ``not``
only: object-level ``oneOf``/``anyOf`` would turn the model into a union in the code
generators, and an explicit ``null`` counts as absent, as it does for the validators.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler
from pydantic.config import JsonDict
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

__all__ = [
    "LIMIT_KEY",
    "FiniteFloat",
    "RequestModel",
    "ResponseModel",
    "at_most_one",
    "exactly_one",
    "given",
    "limited_by",
    "missing",
]

FiniteFloat = Annotated[float, Field(allow_inf_nan=False, strict=True)]
"""A JSON number that is a finite double (ints are accepted, booleans and strings are not)."""

Rule = dict[str, Any]

LIMIT_KEY = "x-limit"


def limited_by(setting: str) -> JsonDict:
    """``json_schema_extra`` of a size bounded by a setting: the OpenAPI document states the
    serving configuration's value as its maximum (``service.web.openapi``)."""
    return {LIMIT_KEY: setting}


def given(name: str) -> Rule:
    """The field is present and not null."""
    return {"required": [name], "properties": {name: {"not": {"type": "null"}}}}


def missing(name: str) -> Rule:
    """The field is absent or null."""
    return {"properties": {name: {"type": "null"}}}


def at_most_one(first: str, second: str) -> Rule:
    """Not both fields."""
    return {"not": {"allOf": [given(first), given(second)]}}


def exactly_one(first: str, second: str) -> list[Rule]:
    """One field or the other."""
    return [at_most_one(first, second), {"not": {"allOf": [missing(first), missing(second)]}}]


class RequestModel(BaseModel):
    """Base of request bodies: strict types, unknown fields rejected.

    ``schema_rules``: JSON Schema conditions across fields that the model's validators
    enforce; a subclass inherits its bases' rules and adds its own.
    """

    model_config = ConfigDict(strict=True, extra="forbid")
    schema_rules: ClassVar[tuple[Rule, ...]] = ()

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        reference = handler(core_schema)
        schema = handler.resolve_ref_schema(reference)
        rules = [rule for klass in cls.__mro__ for rule in vars(klass).get("schema_rules", ())]
        if rules:
            schema["allOf"] = [*schema.get("allOf", []), *rules]
        return reference


class ResponseModel(BaseModel):
    """Base of response bodies: every field is always sent (``null`` when it has no value),
    except those in ``sometimes``, which are left out unless the request asked for them."""

    sometimes: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        reference = handler(core_schema)
        schema = handler.resolve_ref_schema(reference)
        always = [name for name in schema.get("properties", {}) if name not in cls.sometimes]
        if always:
            schema["required"] = always
        return reference
