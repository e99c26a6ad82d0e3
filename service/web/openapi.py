"""The OpenAPI document: FastAPI's, finished so that generated clients and schema tests work.

FastAPI's document is a good start; this module adds what the service does and FastAPI
cannot see:

- errors: every 4xx/5xx is a Problem under ``application/problem+json`` (FastAPI files
  its own 422 shape), and every operation but the images has a ``default`` Problem for
  the rest;
- auth: as the serving configuration has it: with ``RNNLAB_API_TOKEN``, the bearer
  scheme on every operation that is not public, and its 401; without, none (code
  generators type every secured operation as needing a token, even an optional one);
- headers: ``X-Request-ID`` on every answer, ``Retry-After`` on 429/503, ``Location``
  on 201/202, ``ETag``/``Cache-Control``/``Vary`` where an answer is cached;
- limits: a size marked ``x-limit: <setting>`` gets that setting's value as its
  ``maximum`` (or ``maxItems``), so the document states the limits of the server that
  serves it; figure operations take the figure's own, smaller limits;
- links: the id a creation answers leads to the operations on it (stateful tests and
  documentation readers follow them);
- exactness: integer bounds stay integers (FastAPI's models make them floats), a query
  or path value is never ``null``, a figure's grid has two points per axis at least, and
  HEAD (answered for every GET) is not listed twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from service.config import Settings
from service.web.auth import SCHEME, is_public
from service.web.models import LIMIT_KEY
from service.web.problems import PROBLEM_MEDIA_TYPE

__all__ = ["install_openapi"]

_SECURITY_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "The server's RNNLAB_API_TOKEN.",
}
_PROBLEM_CONTENT = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
_UNAUTHORIZED = {
    "description": "Missing or wrong bearer token.",
    "content": _PROBLEM_CONTENT,
}
_DEFAULT = {"description": "Any other error, as problem details.", "content": _PROBLEM_CONTENT}
_NOT_ACCEPTABLE = {
    "description": "The Accept header takes none of the media types this endpoint answers.",
    "content": _PROBLEM_CONTENT,
}
_METHODS = {"get", "put", "post", "delete", "patch", "options", "trace"}

_HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": {
        "description": "The request's id (the client's own when it sent a sane one); "
        "every log line of the request carries it.",
        "schema": {"type": "string"},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "Location": {"description": "Where the created resource is.", "schema": {"type": "string"}},
    "ETag": {
        "description": "Strong validator of the answer (the same query, the same bytes); "
        "send it back as If-None-Match for a 304.",
        "schema": {"type": "string"},
    },
    "Cache-Control": {
        "description": "How long the answer may be reused (RNNLAB_CACHE_SECONDS).",
        "schema": {"type": "string"},
    },
    "Vary": {
        "description": "Request headers the representation depends on.",
        "schema": {"type": "string"},
    },
    "X-Overflow": {
        "description": "`true` when some value overflowed float64 (nan in npy, empty in "
        "CSV, null in JSON).",
        "schema": {"type": "string", "enum": ["true", "false"]},
    },
}

# Figures are drawn on smaller grids than JSON surfaces: their own settings bound them.
_FIGURE_LIMITS = {"max_resolution": "figure_max_resolution", "max_points": "figure_max_points"}

# The operations an id leads to: (producer, id field) -> [(link, consumer, parameter)].
_LINKS: dict[str, tuple[str, list[tuple[str, str, str]]]] = {
    "create_dataset": (
        "id",
        [
            ("GetDataset", "get_dataset", "dataset_id"),
            ("DeleteDataset", "delete_dataset", "dataset_id"),
            ("LossSurface", "get_loss_surface", "dataset_id"),
            ("GradientOverTime", "get_gradient_over_time", "dataset_id"),
        ],
    ),
    "train": (
        "id",
        [
            ("GetJob", "get_job", "job_id"),
            ("CancelJob", "cancel_job", "job_id"),
            ("Trajectory", "get_job_trajectory", "job_id"),
            ("Events", "get_job_events", "job_id"),
            ("Figure", "get_job_figure", "job_id"),
        ],
    ),
}


def install_openapi(app: FastAPI, settings: Settings) -> None:
    """Replace ``app.openapi`` with the finished, cached document."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
                separate_input_output_schemas=app.separate_input_output_schemas,
            )
            app.openapi_schema = finish(schema, settings)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def finish(schema: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """FastAPI's document with everything the module docstring lists."""
    components = schema.setdefault("components", {})
    guarded = settings.api_token is not None
    if guarded:
        components.setdefault("securitySchemes", {})[SCHEME] = _SECURITY_SCHEME
    components["headers"] = _HEADERS
    for name in ("HTTPValidationError", "ValidationError"):  # replaced by Problem
        components.get("schemas", {}).pop(name, None)
    for path, item in schema.get("paths", {}).items():
        item.pop("head", None)
        for method, operation in item.items():
            if method in _METHODS:
                _finish_operation(path, method, operation, settings, guarded)
    _apply_limits(components.get("schemas", {}), settings, {})
    _integer_bounds(schema)
    _add_links(schema)
    return schema


def _finish_operation(
    path: str, method: str, operation: dict[str, Any], settings: Settings, guarded: bool
) -> None:
    responses = operation.setdefault("responses", {})
    if guarded and not is_public(method.upper(), path):
        operation["security"] = [{SCHEME: []}]
        responses.setdefault("401", _UNAUTHORIZED)
    images = any(
        media_type.startswith("image/")
        for response in responses.values()
        for media_type in response.get("content", {})
    )
    if not images:  # generated clients would parse a 200 image as the default's JSON
        responses.setdefault("default", _DEFAULT)
    if any(status.startswith("2") and r.get("content") for status, r in responses.items()):
        responses.setdefault("406", _NOT_ACCEPTABLE)
    cached = "304" in responses
    for status, response in responses.items():
        if status[:1] in "45" or status == "default":
            response["content"] = _PROBLEM_CONTENT
        headers = response.setdefault("headers", {})
        headers["X-Request-ID"] = _ref("X-Request-ID")
        if status in {"429", "503"}:
            headers["Retry-After"] = _ref("Retry-After")
        if status in {"201", "202"}:
            headers["Location"] = _ref("Location") | {"required": True}
        if cached and status in {"200", "304"}:
            for name in ("ETag", "Cache-Control"):
                headers[name] = _ref(name) | {"required": True}
        if (
            status == "200"
            and len(response.get("content", {})) > 1
            and "application/json" in response["content"]
        ):
            headers["Vary"] = _ref("Vary")
    figure = "/figure" in path
    overrides = _FIGURE_LIMITS if figure else {}
    for parameter in operation.get("parameters", []):
        _drop_null(parameter["schema"])
        _apply_limits(parameter["schema"], settings, overrides)
    if figure:  # a picture needs two points per axis
        for parameter in operation.get("parameters", []):
            if parameter["name"] in {"resolution", "nx", "ny"}:
                parameter["schema"]["minimum"] = max(parameter["schema"].get("minimum", 2), 2)


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/headers/{name}"}


def _drop_null(schema: dict[str, Any]) -> None:
    """``anyOf: [X, null]`` -> X for parameters: a query or path value is never null."""
    options = schema.get("anyOf")
    if not options:
        return
    rest = [option for option in options if option != {"type": "null"}]
    if len(rest) == 1 and len(rest) < len(options):
        del schema["anyOf"]
        schema.update(rest[0])


def _apply_limits(node: Any, settings: Settings, overrides: dict[str, str]) -> None:
    """Every ``x-limit`` mark gets its setting's value as the bound of what it marks."""
    for schema in _dicts(node):
        setting = schema.get(LIMIT_KEY)
        if setting is None:
            continue
        setting = schema[LIMIT_KEY] = overrides.get(setting, setting)
        value = getattr(settings, setting)
        branches = [b for b in schema.get("anyOf", [schema]) if b.get("type") != "null"]
        for branch in branches:
            bound = "maxItems" if branch.get("type") == "array" else "maximum"
            branch[bound] = value


def _integer_bounds(node: Any) -> None:
    """Bounds of integer schemas as integers (FastAPI's OpenAPI models store floats)."""
    for schema in _dicts(node):
        if schema.get("type") != "integer":
            continue
        for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            value = schema.get(key)
            if isinstance(value, float) and value.is_integer():
                schema[key] = int(value)


def _add_links(schema: dict[str, Any]) -> None:
    operations = {
        operation["operationId"]: operation
        for item in schema.get("paths", {}).values()
        for method, operation in item.items()
        if method in _METHODS
    }
    for producer, (field, targets) in _LINKS.items():
        for status, response in operations[producer]["responses"].items():
            if status not in {"200", "201", "202"}:
                continue
            response["links"] = {
                name: {
                    "operationId": consumer,
                    "parameters": {parameter: f"$response.body#/{field}"},
                    "description": f"The {parameter} this answer created.",
                }
                for name, consumer, parameter in targets
            }


def _dicts(node: Any) -> Iterator[dict[str, Any]]:
    """Every dict inside ``node``, depth first (the document is a tree of plain JSON)."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _dicts(value)
    elif isinstance(node, list):
        for value in node:
            yield from _dicts(value)
