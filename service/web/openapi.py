"""The OpenAPI document: FastAPI's, with problem+json errors and the optional bearer auth.

FastAPI files every response model under the route's media type and documents its own
422 shape; every error response (4xx, 5xx) is documented as a Problem under
``application/problem+json`` instead, which is what the service sends. Operations that
need a token (when one is configured) declare the bearer scheme and their 401.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from service.web.auth import SCHEME, is_public
from service.web.problems import PROBLEM_MEDIA_TYPE

__all__ = ["install_openapi"]

_SECURITY_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "Needed only when the server runs with RNNLAB_API_TOKEN set.",
}
_PROBLEM_CONTENT = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
_UNAUTHORIZED = {
    "description": "Missing or wrong bearer token (only when RNNLAB_API_TOKEN is set).",
    "content": _PROBLEM_CONTENT,
}
_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def install_openapi(app: FastAPI) -> None:
    """Replace ``app.openapi`` with the post-processed, cached document."""

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
            app.openapi_schema = _post_process(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _post_process(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {})[SCHEME] = _SECURITY_SCHEME
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            for status, response in operation.get("responses", {}).items():
                if status[:1] in "45" and response.get("content"):
                    response["content"] = _PROBLEM_CONTENT
            for parameter in operation.get("parameters", []):
                _drop_null(parameter["schema"])
            if not is_public(method.upper(), path):
                # Optional: a server without RNNLAB_API_TOKEN wants none.
                operation["security"] = [{}, {SCHEME: []}]
                operation["responses"].setdefault("401", _UNAUTHORIZED)
    # FastAPI's default 422 shapes are replaced by Problem everywhere: drop them.
    for name in ("HTTPValidationError", "ValidationError"):
        components.get("schemas", {}).pop(name, None)
    return schema


def _drop_null(schema: dict[str, Any]) -> None:
    """``anyOf: [X, null]`` -> X for parameters: a query or path value is never null."""
    options = schema.get("anyOf")
    if not options:
        return
    rest = [option for option in options if option != {"type": "null"}]
    if len(rest) == 1 and len(rest) < len(options):
        del schema["anyOf"]
        schema.update(rest[0])
